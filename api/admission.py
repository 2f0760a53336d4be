"""Admission: at most as many requests inside the app at once as the database pool can serve.

A request on a sync route takes a pooled connection in one thread-pool call (the ``Conn``
dependency) and runs the route in another. With more requests in flight than connections,
the thread pool (40 threads) fills with requests waiting for a connection while the requests
holding the connections wait for a thread: nothing runs until the pool's time-out answers
503 ``database_busy`` (issue #17's mix at 146 requests/s: server CPU 0.04 cores, 99 % errors).
Waiting here instead, in the event loop before the app, costs nothing and keeps every admitted
request able to finish. Server-sent-event streams (``Accept: text/event-stream``), health and
metrics are not counted: they hold no pooled connection for long.

A request that waited :data:`MAX_WAIT_S` without being admitted is answered 503
``server_busy`` (with ``Retry-After``) instead: its client has most likely given up, and
working on it would only make the queue behind it longer (an overloaded server then sheds the
excess and keeps answering the rest, rather than answering nothing in time).
"""

from __future__ import annotations

import asyncio
import time

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from shudi.settings import get_settings

ADMISSION_WAIT = Histogram(
    "shudi_admission_wait_seconds",
    "Time a request waited to be admitted (in-flight requests capped at the pool's size).",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0),
)
SHED = Counter(
    "shudi_admission_shed",
    "Requests answered 503 server_busy after waiting the longest admission wait.",
)
EXEMPT = ("/healthz", "/metrics")
MAX_WAIT_S = 10.0


def admitted() -> int:
    """How many requests may be inside the app at once: the pool's capacity (size + overflow)
    less two for the in-process outbox sender and background jobs, at least one."""
    return max(1, 2 * get_settings().db_pool_size - 2)


class Admission:
    """ASGI middleware capping in-flight HTTP requests at :func:`admitted`."""

    def __init__(
        self, app: ASGIApp, limit: int | None = None, max_wait_s: float = MAX_WAIT_S
    ) -> None:
        self.app = app
        self.limit = limit or admitted()
        self.max_wait_s = max_wait_s
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT or _streams(scope):
            await self.app(scope, receive, send)
            return
        slots = self._slots
        if slots is None:  # made in the server's loop
            slots = self._slots = asyncio.Semaphore(self.limit)
        if slots.locked():  # every slot taken: wait in line, at most max_wait_s
            start = time.perf_counter()
            try:
                await asyncio.wait_for(slots.acquire(), self.max_wait_s)
            except TimeoutError:
                SHED.inc()
                await _busy(send)
                return
            ADMISSION_WAIT.observe(time.perf_counter() - start)
        else:  # a free slot: taken at once (acquire does not suspend), no task, no timer
            await slots.acquire()
            ADMISSION_WAIT.observe(0.0)
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


async def _busy(send: Send) -> None:
    body = orjson.dumps(
        {
            "code": "server_busy",
            "message": "服务繁忙，请稍后重试 (the server is busy; retry shortly)",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _streams(scope: Scope) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in scope["headers"])
