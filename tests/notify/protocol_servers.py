"""Local servers that speak the channels' protocols and check what they receive the way each
provider documents it (written here independently of notify/signing.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Received], tuple[int, dict[str, Any]]]


@dataclass
class HttpRecorder:
    url: str
    received: list[Received] = field(default_factory=list)


@contextmanager
def http_server(answer: Answer) -> Iterator[HttpRecorder]:
    """An HTTP server on 127.0.0.1 that records each POST and answers with ``answer``."""
    recorder = HttpRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(
                method="POST",
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
            recorder.received.append(got)
            status, payload = answer(got)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


def aliyun_expected_signature(form: dict[str, str], secret: str, method: str = "POST") -> str:
    """Alibaba Cloud RPC signature 1.0 as its documentation states it: every parameter but
    Signature, sorted by name, name and value percent-encoded with RFC 3986 (``+`` -> %20,
    ``*`` -> %2A, %7E -> ``~``), joined with & and =; StringToSign = HTTPMethod + "&" +
    percentEncode("/") + "&" + percentEncode(canonicalized); HMAC-SHA1 with key secret + "&",
    then Base64."""

    def enc(s: str) -> str:
        return quote(s, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    pairs = sorted((k, v) for k, v in form.items() if k != "Signature")
    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)
    to_sign = f"{method}&{enc('/')}&{enc(canonical)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """DingTalk robot security setting "加签": Base64(HmacSHA256(secret, timestamp + "\\n" +
    secret)) (the query carries it URL-encoded; ``parse_qsl`` has decoded it)."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()
