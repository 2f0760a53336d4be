"""A request whose database connection dies mid-request answers 503 with code, message and
Retry-After — never 500 (issue #17: two 500s answered at the kill -9).

Deterministic on the real PostgreSQL: the test holds an ACCESS EXCLUSIVE lock on the table the
request needs, waits until the server's backend is blocked on it (``pg_stat_activity``), then
ends that backend with ``pg_terminate_backend`` — the server's connection drops inside a
statement, as when PostgreSQL is killed. The server must stay healthy afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import IN_P111, live_server, load_mini

from jurisdictions import catalog


@pytest.fixture(scope="module")
def served(module_scratch_db_url: str) -> Iterator[tuple[str, str]]:
    engine = create_engine(module_scratch_db_url)
    with engine.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
    engine.dispose()
    with live_server(module_scratch_db_url) as base:
        yield base, module_scratch_db_url


def _blocked_backend(db_url: str, holder_pid: int, timeout_s: float = 10.0) -> int:
    """The pid of the server's backend waiting on the lock ``holder_pid`` holds."""
    engine = create_engine(db_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pid = conn.execute(
                    text("""SELECT pid FROM pg_stat_activity
                            WHERE :holder = ANY(pg_blocking_pids(pid)) LIMIT 1"""),
                    {"holder": holder_pid},
                ).scalar()
            if pid is not None:
                return int(pid)
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the request never waited on the lock")


def _terminated_mid_request(db_url: str, table: str, send: object) -> httpx.Response:
    """Send a request (``send()``) while ``table`` is locked; end its backend once blocked."""
    answer: dict[str, httpx.Response] = {}
    engine = create_engine(db_url)
    try:
        with engine.connect() as holder:
            holder.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            holder_pid = int(holder.execute(text("SELECT pg_backend_pid()")).scalar_one())
            thread = threading.Thread(target=lambda: answer.update(r=send()))  # type: ignore[operator]
            thread.start()
            victim = _blocked_backend(db_url, holder_pid)
            assert holder.execute(text("SELECT pg_terminate_backend(:p)"), {"p": victim}).scalar()
            holder.rollback()
        thread.join(30)
    finally:
        engine.dispose()
    assert "r" in answer, "the request did not answer"
    return answer["r"]


def _assert_503(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["code"] == "database_unavailable", body
    assert body["message"], body
    assert int(r.headers["Retry-After"]) > 0


def test_report_whose_connection_is_terminated_answers_503(served: tuple[str, str]) -> None:
    base, db_url = served
    type_code = str(
        httpx.get(f"{base}/api/v1/violation-types", params={"reportable": True}).json()[0]["code"]
    )

    def send() -> httpx.Response:
        return httpx.post(
            f"{base}/api/v1/reports",
            json={"lon": IN_P111[0], "lat": IN_P111[1], "type": type_code,
                  "description": "井盖缺失", "phone": "13800000000"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )  # fmt: skip

    _assert_503(_terminated_mid_request(db_url, "case_file", send))
    # the server recovers by itself: the next report is filed
    again = send()
    assert again.status_code == 201, again.text


def test_read_whose_connection_is_terminated_answers_503(served: tuple[str, str]) -> None:
    base, db_url = served

    def send() -> httpx.Response:
        return httpx.get(f"{base}/api/v1/track/NO-SUCH-CODE", timeout=30)

    _assert_503(_terminated_mid_request(db_url, "case_reporter", send))
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


def test_every_class_of_lost_connection_answers_503(db_url: str) -> None:
    """The driver reports a lost connection under several classes (``OperationalError``,
    ``InterfaceError`` "connection already closed", a raw psycopg2 error outside a statement);
    each is a 503 from the one error map, while a driver error that is a bug stays a 500."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from shudi.database import get_engine

    app = create_app()

    @app.get("/_test/closed")
    def closed() -> None:  # the raw connection closed under SQLAlchemy, then used
        with get_engine().connect() as conn:
            conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
            conn.execute(text("SELECT 1"))

    @app.get("/_test/raw")
    def raw() -> None:  # psycopg2 itself, outside SQLAlchemy's wrapping
        with get_engine().connect() as conn:
            dbapi = conn.connection.dbapi_connection
            dbapi.close()  # type: ignore[union-attr]
            dbapi.cursor()  # type: ignore[union-attr]

    @app.get("/_test/bug")
    def bug() -> None:  # a syntax error is no outage
        with get_engine().connect() as conn:
            conn.execute(text("SELEC 1"))

    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/_test/closed", "/_test/raw"):
            r = client.get(path)
            _assert_503(r)
        assert client.get("/_test/bug").status_code == 500
