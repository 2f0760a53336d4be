"""The hotline platform's side, written from docs/hotline.md (not from the code under test):
it signs work orders and runs a real HTTP server that receives Shudi's callbacks and checks
their signature as the document states it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def signed_headers(key: str, secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    """X-Api-Key, X-Timestamp, X-Signature = "sha256=" + hex HMAC-SHA256(secret, ts "." body)."""
    stamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Api-Key": key,
        "X-Timestamp": stamp,
        "X-Signature": "sha256=" + mac.hexdigest(),
    }


@dataclass
class Callbacks:
    url: str
    secret: str
    good: list[dict[str, Any]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)


@contextmanager
def callback_server(secret: str) -> Iterator[Callbacks]:
    """Accepts (200) a callback whose signature and timestamp check out, else answers 401."""
    got = Callbacks(url="", secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.raw.append(body)
            stamp = self.headers.get("X-Hotline-Timestamp", "")
            sent = self.headers.get("X-Hotline-Signature", "")
            mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
            if fresh and hmac.compare_digest(sent, "sha256=" + mac.hexdigest()):
                doc = json.loads(body)
                doc["_idempotency_key"] = self.headers.get("Idempotency-Key")
                got.good.append(doc)
                status, answer = 200, b'{"code":0}'
            else:
                got.bad.append(sent)
                status, answer = 401, b'{"code":401}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
