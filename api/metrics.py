"""Running it like a service: ``/metrics`` (Prometheus), ``/readyz``, request ids, access log.

:class:`RequestTelemetry` wraps every request: it takes the caller's ``X-Request-Id`` (or
makes one), returns it on the response, keeps it in a context variable for log lines, times
the request into a histogram labelled by the route *template* (``/api/v1/cases/{case_id}``,
never the concrete path, so labels stay few) and status, and writes one access-log line
(``SHUDI_ACCESS_LOG``) without the query string (it may carry phone numbers or tokens).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import error_responses
from api.logs import redact_path
from incidents.stats import cases_by_status
from notify.service import status as outbox_status
from shudi.database import open_reader
from shudi.logs import request_id_var
from shudi.metrics import multiprocess_dir
from shudi.migrate import migration_state
from shudi.settings import get_settings

access_log = logging.getLogger("shudi.access")
router = APIRouter(tags=["ops"])

REQUEST_SECONDS = Histogram(
    "shudi_http_request_duration_seconds",
    "Time from request to the end of the response, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
#: A caller's request id is kept when it is this tame; anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "<unmatched>"


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestTelemetry:
    """Pure ASGI middleware: request id, latency histogram, access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.access = get_settings().access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_of(scope)
            REQUEST_SECONDS.labels(route, scope["method"], str(status)).observe(elapsed)
            if self.access:
                client = scope.get("client")
                path = redact_path(scope["path"])  # no tracking codes or phones in the log
                access_log.info(
                    "%s %s %s %.1f ms",
                    scope["method"],
                    path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": client[0] if client else None,
                    },
                )
            request_id_var.reset(token)


class CaseStatusCollector(Collector):
    """``shudi_cases{status=...}`` and the outbox (``shudi_outbox_messages{state,channel}``,
    ``shudi_outbox_oldest_pending_seconds``), counted at scrape time and cached a few seconds
    (``SHUDI_METRICS_CASES_TTL_S``), so frequent scrapes cost a few queries per period."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._counts: tuple[dict[str, int], dict[str, Any]] | None = None

    def _current(self) -> tuple[dict[str, int], dict[str, Any]] | None:
        with self._lock:
            if time.monotonic() - self._at >= get_settings().metrics_cases_ttl_s:
                try:
                    with open_reader() as conn:
                        self._counts = (cases_by_status(conn), outbox_status(conn))
                except SQLAlchemyError:
                    self._counts = None  # no gauge rather than a stale one
                self._at = time.monotonic()
            return self._counts

    def collect(self) -> Iterable[GaugeMetricFamily]:
        current = self._current()
        cases, outbox = current if current else ({}, {"counts": [], "oldest_pending_s": None})
        family = GaugeMetricFamily(
            "shudi_cases", "Cases in the store by status.", labels=["status"]
        )
        for status, n in sorted(cases.items()):
            family.add_metric([status], n)
        yield family
        messages = GaugeMetricFamily(
            "shudi_outbox_messages",
            "Outbox messages by state (pending, sent, dead, ...) and channel.",
            labels=["state", "channel"],
        )
        for row in outbox["counts"]:
            messages.add_metric([str(row["state"]), str(row["channel"])], int(row["n"]))
        yield messages
        lag = outbox["oldest_pending_s"]
        yield GaugeMetricFamily(
            "shudi_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits): the outbox lag.",
            value=float(lag or 0.0),
        )


_cases = CaseStatusCollector()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus text format: requests, database pool, hot-spot analyses, cases by status,
    the outbox by state and its lag."""
    if multiprocess_dir():
        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Default())
    registry.register(_cases)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Default(Collector):
    """The process's default registry (this worker's samples and process figures)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


@router.get("/readyz")
def readyz() -> JSONResponse:
    """200 when the database answers and its migrations are at the packaged head, else 503."""
    try:
        with open_reader() as conn:
            current, heads = migration_state(conn)
    except SQLAlchemyError:
        return JSONResponse(
            error_responses.error_body("database_unavailable", "the database is not answering"),
            status_code=503,
            headers={"Retry-After": "5"},
        )
    if current != heads:
        return JSONResponse(
            error_responses.error_body(
                "migrations_pending",
                f"the database is at {', '.join(sorted(current)) or 'no revision'}; "
                f"this release needs {', '.join(sorted(heads))} (run `shudi db migrate`)",
            ),
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": ", ".join(sorted(heads))})
