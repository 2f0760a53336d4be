"""Local receivers that speak the channels' protocols and count what arrives, in a process of
their own (so they do not share the measured process's interpreter):

- SMTP (``aiosmtpd``): every message accepted, counted raw and by ``Message-ID``;
- HTTP/1.1 with keep-alive: ``/hook`` (the signed webhook: 200), ``/dingtalk`` (a group robot:
  ``{"errcode": 0}``), ``/sms`` (Alibaba Cloud ``SendSms``: ``{"Code": "OK"}``); every POST is
  counted raw and by its idempotency key (``Idempotency-Key``, ``X-Shudi-Message-Key`` or the
  form's ``OutId``) — a channel that honours the key shows each key once.

``GET /stats`` answers the counts as JSON, ``GET /keys/SINK`` one sink's distinct
keys. Run it with ``python -m benchmarks.sinks SMTP_PORT
HTTP_PORT`` or through :func:`sinks`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx

from benchmarks.common import ROOT, free_port


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: Counter[str] = Counter()  # per sink: every delivery
        self.keys: dict[str, set[str]] = {}  # per sink: the distinct keys

    def add(self, sink: str, key: str) -> None:
        with self.lock:
            self.raw[sink] += 1
            self.keys.setdefault(sink, set()).add(key)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                sink: {"raw": self.raw[sink], "unique": len(self.keys.get(sink, ()))}
                for sink in self.raw
            }


MESSAGE_ID = re.compile(rb"^Message-ID: *(<[^>]*>)", re.MULTILINE | re.IGNORECASE)
ANSWERS = {"/hook": {}, "/dingtalk": {"errcode": 0, "errmsg": "ok"}, "/sms": {"Code": "OK"}}


def serve(smtp_port: int, http_port: int) -> None:
    """Run both receivers until killed."""
    from aiosmtpd.controller import Controller

    counts = _Counts()

    class Mail:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            found = MESSAGE_ID.search(envelope.original_content or b"")
            counts.add("smtp", found.group(1).decode() if found else "")
            return "250 OK"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # the answer's header and body are two writes

        def _answer(self, payload: Any, status: int = 200) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/keys/"):  # one sink's distinct keys
                with counts.lock:
                    self._answer(sorted(counts.keys.get(self.path[len("/keys/") :], ())))
                return
            self._answer(counts.stats())

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key") or self.headers.get("X-Shudi-Message-Key")
            if not key and path == "/sms":
                key = dict(parse_qsl(body.decode())).get("OutId", "")
            if path not in ANSWERS or not key:
                self._answer({"error": "unknown path or no idempotency key"}, 400)
                return
            counts.add(path.strip("/"), key)
            self._answer(ANSWERS[path])

        def log_message(self, *_args: object) -> None:
            pass

    controller = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
    controller.start()

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client killed mid-request (the fault drill) is expected, not news

    httpd = Server(("127.0.0.1", http_port), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()


@dataclass
class Sinks:
    smtp_url: str
    http_url: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, dict[str, int]]:
        return dict(httpx.get(f"{self.http_url}/stats", timeout=10).json())

    def keys(self, sink: str) -> set[str]:
        """The distinct idempotency keys ``sink`` received."""
        return set(httpx.get(f"{self.http_url}/keys/{sink}", timeout=30).json())

    def wait_for(self, sink: str, n: int, timeout_s: float = 120.0) -> float:
        """Seconds until ``sink`` has ``n`` distinct keys (or the timeout)."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout_s:
            if self.stats().get(sink, {}).get("unique", 0) >= n:
                break
            time.sleep(0.05)
        return time.perf_counter() - start


@contextmanager
def sinks() -> Iterator[Sinks]:
    """The receivers in a child process, stopped afterwards."""
    smtp_port, http_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sinks", str(smtp_port), str(http_port)], cwd=ROOT
    )
    out = Sinks(f"smtp://127.0.0.1:{smtp_port}", f"http://127.0.0.1:{http_port}", proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                out.stats()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the local sinks did not start") from None
                time.sleep(0.1)
        yield out
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
