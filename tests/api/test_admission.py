"""Admission (api/admission.py): no more requests inside the app than it admits; the rest wait
their turn and are all served; health checks and event streams are not held back."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from api.admission import Admission, admitted
from shudi.settings import get_settings


def _scope(path: str, accept: bytes = b"*/*") -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": [(b"accept", accept)]}


def test_requests_beyond_the_limit_wait_and_all_are_served() -> None:
    inside = 0
    most = 0
    served: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1
        served.append(scope["path"])

    async def main() -> None:
        gate = Admission(app, limit=3)
        await asyncio.gather(*(gate(_scope(f"/r{k}"), None, None) for k in range(20)))  # type: ignore[arg-type]

    asyncio.run(main())
    assert most == 3
    assert sorted(served) == sorted(f"/r{k}" for k in range(20))


def test_health_and_event_streams_pass_a_full_gate() -> None:
    release = asyncio.Event()
    passed: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        passed.append(scope["path"])

    async def main() -> None:
        gate = Admission(app, limit=1)
        slow = asyncio.create_task(gate(_scope("/slow"), None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        await asyncio.wait_for(gate(_scope("/healthz"), None, None), 1)  # type: ignore[arg-type]
        stream = _scope("/api/v1/live", b"text/event-stream")
        await asyncio.wait_for(gate(stream, None, None), 1)  # type: ignore[arg-type]
        release.set()
        await slow

    asyncio.run(main())
    assert passed == ["/healthz", "/api/v1/live", "/slow"]


def test_the_limit_leaves_pooled_connections_for_background_work() -> None:
    # 2 × 10 pooled connections by default: 18 requests, two connections left over
    assert admitted() == 2 * get_settings().db_pool_size - 2


def test_a_request_not_admitted_in_time_is_answered_503_server_busy() -> None:
    release = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        gate = Admission(app, limit=1, max_wait_s=0.05)
        held = asyncio.create_task(gate(_scope("/slow"), None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        await gate(_scope("/late"), None, send)  # type: ignore[arg-type]
        release.set()
        await held

    asyncio.run(main())
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"1") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"])["code"] == "server_busy"


def _admitted_count() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("shudi_admission_wait_seconds_count") or 0.0


def test_every_admitted_request_is_timed_those_let_in_at_once_and_those_that_waited() -> None:
    release = asyncio.Event()
    order: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/first":
            await release.wait()
        order.append(scope["path"])

    async def main() -> None:
        gate = Admission(app, limit=1)
        first = asyncio.create_task(gate(_scope("/first"), None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        second = asyncio.create_task(gate(_scope("/second"), None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.02)
        assert order == []  # the second waits for the one slot
        release.set()
        await asyncio.gather(first, second)
        await gate(_scope("/third"), None, None)  # type: ignore[arg-type]

    before = _admitted_count()
    asyncio.run(main())
    assert order == ["/first", "/second", "/third"]
    assert _admitted_count() - before == 3
