"""Resource limits: body size caps (413 before parsing), statement and pool time-outs (503)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from api.app import create_app
from api.limits import body_limit
from shudi import database, settings


@pytest.fixture
def app_with(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Build a client with these settings (environment), against the test database."""

    def build(**env: str) -> TestClient:
        for key, value in env.items():
            monkeypatch.setenv(f"SHUDI_{key.upper()}", value)
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()
        return TestClient(create_app())  # no lifespan: no background sealer

    yield build
    monkeypatch.undo()
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()


def _points(n: int) -> bytes:
    return orjson.dumps({"points": [[120.0 + i * 1e-6, 30.0] for i in range(n)]})


def test_declared_length_over_the_cap_is_refused_before_reading(app_with) -> None:
    client = app_with(max_body_bytes="1000")
    body = _points(100)
    assert len(body) > 1000
    r = client.post(
        "/api/v1/resolve/batch", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json() == {
        "code": "payload_too_large",
        "message": "the request body is larger than 1000 bytes",
    }


def test_streamed_body_is_counted_and_stopped_at_the_cap(app_with) -> None:
    client = app_with(max_body_bytes="1000")
    body = _points(100)

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for i in range(0, len(body), 256):
            yield body[i : i + 256]

    r = client.post(
        "/api/v1/resolve/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_a_body_under_the_cap_is_served(app_with) -> None:
    client = app_with(max_body_bytes="1000")
    r = client.post(
        "/api/v1/resolve/batch", content=_points(5), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200 and len(r.json()["results"]) == 5


def test_reports_with_photos_have_their_own_cap(app_with) -> None:
    client = app_with(max_body_bytes="1000", max_report_body_bytes="20000")
    photo = ("p.jpg", b"\xff\xd8" + b"0" * 5000, "image/jpeg")
    r = client.post("/api/v1/reports", files={"photos": photo}, data={"lon": "120"})
    assert r.status_code != 413  # over the JSON cap, under the photo cap: parsed, then judged
    assert r.json()["code"] != "payload_too_large"
    r = client.post(
        "/api/v1/reports",
        content=b"{" + b" " * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    big = ("p.jpg", b"0" * 30000, "image/jpeg")
    r = client.post("/api/v1/reports", files={"photos": big}, data={"lon": "120"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_route_classes() -> None:
    s = settings.Settings(max_body_bytes=1, max_report_body_bytes=2, max_upload_body_bytes=3)
    multipart = [(b"content-type", b"multipart/form-data; boundary=x")]
    assert body_limit({"path": "/api/v1/boundaries/town", "headers": multipart}, s) == 3
    assert body_limit({"path": "/api/v1/reports", "headers": multipart}, s) == 2
    assert body_limit({"path": "/api/v1/reports", "headers": []}, s) == 1
    assert body_limit({"path": "/api/v1/cases/1/transitions", "headers": multipart}, s) == 1


def test_a_slow_query_answers_503_query_timeout(app_with, conn: Connection) -> None:
    conn.execute(text("LOCK TABLE agency IN ACCESS EXCLUSIVE MODE"))  # held until rollback
    client = app_with(statement_timeout_ms="300")
    started = time.perf_counter()
    r = client.get("/api/v1/agencies")
    assert r.status_code == 503
    assert r.json()["code"] == "query_timeout" and r.headers["retry-after"] == "5"
    assert time.perf_counter() - started < 5


def test_a_busy_pool_answers_503_with_retry_after(app_with) -> None:
    client = app_with(db_pool_size="1", db_pool_timeout_s="0.3")
    engine = database.get_engine()
    held = [engine.connect(), engine.connect()]  # the pool's capacity: 2 × db_pool_size
    try:
        started = time.perf_counter()
        r = client.get("/api/v1/agencies")
        assert r.status_code == 503
        assert r.json()["code"] == "database_busy" and r.headers["retry-after"] == "2"
        assert time.perf_counter() - started < 3
    finally:
        for c in held:
            c.close()
    assert client.get("/api/v1/agencies").status_code == 200
