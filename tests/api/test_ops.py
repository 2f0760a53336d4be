"""Health and durability guards."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import create_app
from shudi import database, settings
from shudi.database import check_durability, make_engine
from shudi.exceptions import UnsafeDatabaseError


def test_healthz_503_when_database_is_down(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("SHUDI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SHUDI_REQUIRE_DURABLE_DB", "false")
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    try:
        with TestClient(create_app()) as client:
            r = client.get("/healthz")
            assert r.status_code == 503
            assert r.json()["code"] == "database_unavailable"
            assert r.headers["retry-after"]
            r = client.get("/api/v1/resolve", params={"lon": 120, "lat": 30})
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()


def test_durable_database_passes(db_url: str) -> None:
    check_durability(make_engine(db_url))


def test_unsafe_durability_is_refused(db_url: str) -> None:
    unsafe = make_engine(db_url)

    @event.listens_for(unsafe, "connect")
    def _unsafe(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")

    with pytest.raises(UnsafeDatabaseError, match="synchronous_commit"):
        check_durability(unsafe)
    unsafe.dispose()
