"""/metrics (Prometheus text format, read by prometheus_client's own parser), /readyz,
request ids and JSON access logs, on a real server with two workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, text
from support import live_server

from api.app import create_app
from shudi import database, settings


def _samples(body: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def test_metrics_count_requests_across_workers(db_url: str, engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"SHUDI_HOME": str(tmp_path / "home"), "SHUDI_LOG_FORMAT": "json"}
    with live_server(db_url, log=log, workers=2, **env) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(7):  # spread over both workers by the kernel
                r = client.get("/readyz", headers={"X-Request-Id": f"probe-{i}"})
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "ready"
                assert r.headers["x-request-id"] == f"probe-{i}"
            r = client.get("/no/such/page")
            assert r.status_code == 404
            made = r.headers["x-request-id"]
            assert len(made) == 32  # none given: one is made
            bad = client.get("/readyz", headers={"X-Request-Id": "a b<" * 40})
            assert bad.headers["x-request-id"] != "a b<" * 40
            scrape = client.get("/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        found = _samples(scrape.text)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM case_file")).scalar_one()
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in found["shudi_http_request_duration_seconds_count"]
    }
    assert counts[("/readyz", "GET", "200")] == 8  # 7 probes + the one with a bad id
    assert counts[("<unmatched>", "GET", "404")] == 1
    assert not any("/no/such" in route for route, _m, _s in counts)  # templates, not paths
    buckets = [
        s
        for s in found["shudi_http_request_duration_seconds_bucket"]
        if s.labels["route"] == "/readyz" and s.labels["le"] == "+Inf"
    ]
    assert buckets[0].value == 8
    # (10 + 10) per worker whose engine exists: one or both, as the kernel spread the requests
    assert found["shudi_db_pool_capacity"][0].value in (20, 40)
    assert found["shudi_db_pool_checked_out"][0].value >= 0
    assert found["shudi_db_pool_checkout_seconds_count"][0].value >= 8
    assert {s.labels["status"] for s in found["shudi_cases"]} >= {"reported", "closed"}
    assert sum(s.value for s in found["shudi_cases"]) == stored
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [x for x in lines if x["logger"] == "shudi.access"]
    mine = [x for x in access if x["request_id"] == "probe-3"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/readyz" and mine[0]["status"] == 200
    assert any(x["request_id"] == made and x["status"] == 404 for x in access)
    assert not (tmp_path / "home" / "metrics").exists() or os.listdir(tmp_path / "home" / "metrics")


def test_access_log_off(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"SHUDI_HOME": str(tmp_path / "home"), "SHUDI_ACCESS_LOG": "off"}
    with live_server(db_url, log=log, **env) as base:
        assert httpx.get(f"{base}/readyz", headers={"X-Request-Id": "quiet-1"}).status_code == 200
    written = log.read_text()
    assert "Application startup complete" in written  # the log itself is there
    assert "quiet-1" not in written and "/readyz" not in written


def test_readyz_503_when_migrations_are_behind(
    monkeypatch: pytest.MonkeyPatch, scratch_db_url: str
) -> None:
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    eng.dispose()
    monkeypatch.setenv("SHUDI_DATABASE_URL", scratch_db_url)
    monkeypatch.setenv("SHUDI_REQUIRE_DURABLE_DB", "false")
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    try:
        with TestClient(create_app()) as client:
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["code"] == "migrations_pending"
            assert "shudi db migrate" in r.json()["message"]
            assert client.get("/healthz").status_code == 200  # liveness is not readiness
    finally:
        database.get_engine().dispose()
        monkeypatch.undo()
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()


def test_readyz_503_when_database_is_down(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("SHUDI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SHUDI_REQUIRE_DURABLE_DB", "false")
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    try:
        with TestClient(create_app()) as client:
            r = client.get("/readyz")
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()


def test_metrics_show_the_outbox_lag(db_url: str, engine: Engine) -> None:
    """A message waiting for two minutes: the outbox gauges say so (the lag the operations doc
    tells operators to watch)."""
    from api import metrics

    key = "metrics-test-outbox-lag"
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO notify_message (key, channel, audience, template,
                        template_version, recipient, recipient_masked, recipient_digest, body,
                        created_at)
                    VALUES (:k, 'sms', 'resident', 'case_accepted', 1, 'sealed', '138****0000',
                            :k, 'x', now() - interval '120 seconds')"""),
            {"k": key},
        )
    try:
        metrics._cases._at = float("-inf")  # no cached figures from an earlier scrape
        with TestClient(create_app()) as client:
            scrape = client.get("/metrics")
        found = _samples(scrape.text)
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM notify_message WHERE state = 'pending'")
            ).scalar_one()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM notify_message WHERE key = :k"), {"k": key})
    assert found["shudi_outbox_oldest_pending_seconds"][0].value >= 120
    waiting = [s for s in found["shudi_outbox_messages"] if s.labels["state"] == "pending"]
    assert sum(s.value for s in waiting) == pending >= 1
