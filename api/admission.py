"""Admission: at most as many requests inside the app at once as the database pool can serve.

A request on a sync route takes a pooled connection in one thread-pool call (the ``Conn``
dependency) and runs the route in another. With more requests in flight than connections,
the thread pool (40 threads) fills with requests waiting for a connection while the requests
holding the connections wait for a thread: nothing runs until the pool's time-out answers
503 ``database_busy`` (issue #17's mix at 146 requests/s: server CPU 0.04 cores, 99 % errors).
Waiting here instead, in the event loop before the app, costs nothing and keeps every admitted
request able to finish. Server-sent-event streams (``Accept: text/event-stream``), health and
metrics are not counted: they hold no pooled connection for long.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from shudi.settings import get_settings

ADMISSION_WAIT = Histogram(
    "shudi_admission_wait_seconds",
    "Time a request waited to be admitted (in-flight requests capped at the pool's size).",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0),
)
EXEMPT = ("/healthz", "/metrics")


def admitted() -> int:
    """How many requests may be inside the app at once: the pool's capacity (size + overflow)
    less two for the in-process outbox sender and background jobs, at least one."""
    return max(1, 2 * get_settings().db_pool_size - 2)


class Admission:
    """ASGI middleware capping in-flight HTTP requests at :func:`admitted`."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit or admitted()
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT or _streams(scope):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the server's loop
            self._slots = asyncio.Semaphore(self.limit)
        start = time.perf_counter()
        async with self._slots:
            ADMISSION_WAIT.observe(time.perf_counter() - start)
            await self.app(scope, receive, send)


def _streams(scope: Scope) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in scope["headers"])
