"""A primary and a streaming replica on this machine (real PostgreSQL, ``pg_basebackup``), made
by ``shudi db replica start`` beside a cluster of the test's own, with ``shudi serve`` sending
lag-tolerant reads to the replica (``SHUDI_DATABASE_READ_URL``).

Which server answered is shown three ways: the read pool's connections (``application_name``
``shudi-read``) are on the replica and not on the primary; ``/metrics`` counts the reads per
server; and, with the replica's replay paused, what each request sees — a case just filed is
in the dispatcher's own listing and the resident's tracking page (primary) and not in the live
feed (replica) until the lag passes the bound; then those reads go to the primary and see it;
replay resumed, they go back to the replica. (Planners' listings go to the replica too, and
are counted; planners see aggregates, not cases, so their listings are empty.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
from sqlalchemy import create_engine
from support import IN_P111, PASSWORD, live_server, load_mini, type_of

from accounts.service import authenticate, create_user, issue_token
from jurisdictions import catalog
from reliability import crash
from shudi import embedded, standby
from shudi.migrate import upgrade
from shudi.read_replica import embedded_replica_url

DB = "shudi_replica_test"
MAX_LAG_S = 3.0
CHECK_S = 0.2
SHUDI = [sys.executable, "-m", "console"]


def cli(base: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``shudi ARGS`` with ``SHUDI_HOME`` at ``base`` (whose ``pg`` is the test's primary)."""
    inherited = {k: v for k, v in os.environ.items() if k != "SHUDI_DATABASE_URL"}  # the test DB
    return subprocess.run(
        [*SHUDI, *args],
        env=inherited | {"SHUDI_HOME": str(base), "SHUDI_DB_NAME": DB} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def primary() -> Iterator[embedded.Cluster]:
    with crash.own_cluster("shudi-replica-", DB) as cl:
        try:
            yield cl
        finally:
            standby.stop(primary=cl, remove=True)


@pytest.fixture(scope="module")
def world(primary: embedded.Cluster) -> dict[str, Any]:
    """The mini district, a dispatcher and a planner with tokens, then the replica (by the
    CLI), and the read URL the app is given."""
    upgrade(primary.url())
    embedded.set_app_password(primary)
    eng = create_engine(primary.url())
    tokens = {}
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        type_code = type_of(conn, agency="urban_management")
        for name, role in (("disp", "dispatcher"), ("plan", "planner")):
            create_user(conn, username=name, password=PASSWORD, role=role)
            who = authenticate(conn, username=name, password=PASSWORD)
            tokens[name] = {"Authorization": f"Bearer {issue_token(conn, principal=who)[0]}"}
    eng.dispose()
    base = primary.root.parent
    made = cli(base, "db", "replica", "start")
    assert made.returncode == 0, made.stderr
    return {"type": type_code, "tokens": tokens, "read_url": embedded_replica_url(primary)}


def owner_on(primary: embedded.Cluster, where: embedded.Cluster) -> Any:
    conn = psycopg2.connect(
        dbname=DB,
        user=embedded.OWNER,
        password=primary.password(embedded.OWNER),
        host=str(where.socket_dir),
        port=where.port,
    )
    conn.autocommit = True
    return conn


def sql(conn: Any, query: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchone()[0]


def reads(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics").text
    found = re.findall(r'^shudi_db_reads_total\{server="(\w+)"\} (\S+)$', text, re.M)
    return {"primary": 0.0, "replica": 0.0} | {k: float(v) for k, v in found}


def file_case(base: str, type_code: str, key: str) -> dict[str, Any]:
    body = {"lon": IN_P111[0], "lat": IN_P111[1], "type": type_code, "description": key}
    r = httpx.post(
        f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": key}, timeout=30
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def feed_ids(base: str, tokens: dict[str, dict[str, str]]) -> set[int]:
    r = httpx.get(f"{base}/api/v1/cases/feed", headers=tokens["disp"], timeout=30)
    assert r.status_code == 200, r.text
    return set(r.json()["cases"]["id"])


def listed(base: str, headers: dict[str, str]) -> set[int]:
    r = httpx.get(f"{base}/api/v1/cases", params={"limit": 500}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return {int(c["id"]) for c in items}


def test_replica_status_from_the_cli(primary: embedded.Cluster, world: dict[str, Any]) -> None:
    out = cli(primary.root.parent, "db", "replica", "status")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["running"] and info["standby"] and info["state"] == "streaming"
    assert info["slot"]["active"] is True
    assert info["replay_lag_bytes"] >= 0 and info["replay_lag_s"] >= 0
    # the replication role's password sits beside the others, readable by its owner only
    secret = primary.secrets_dir / standby.REPLICATION_ROLE
    assert secret.exists() and secret.stat().st_mode & 0o077 == 0


def test_reads_split_and_the_lag_bound(
    primary: embedded.Cluster, world: dict[str, Any], tmp_path: Path
) -> None:
    replica = standby.replica_of(primary)
    tokens, type_code = world["tokens"], world["type"]
    env = {
        "SHUDI_DATABASE_READ_URL": world["read_url"],
        "SHUDI_READ_MAX_LAG_S": str(MAX_LAG_S),
        "SHUDI_READ_LAG_CHECK_S": str(CHECK_S),
        "SHUDI_AUDIT_SEAL_INTERVAL_S": "0",
    }
    on_primary, on_replica = owner_on(primary, primary), owner_on(primary, replica)
    with live_server(primary.app_url(), log=tmp_path / "server.log", **env) as base:
        # replay running: a case filed reaches the live feed (read on the replica) at once
        first = file_case(base, type_code, "r-first")
        deadline = time.monotonic() + 10
        while first["id"] not in feed_ids(base, tokens):
            assert time.monotonic() < deadline, "the replica never showed the case"
            time.sleep(0.1)
        before = reads(base)
        for _ in range(5):
            feed_ids(base, tokens)
            listed(base, tokens["plan"])
        after = reads(base)
        assert after["replica"] - before["replica"] == 10 and after["primary"] == before["primary"]
        count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shudi-read'"
        assert sql(on_replica, count) >= 1  # the read pool is connected to the replica
        assert sql(on_primary, count) == 0  # and not to the primary

        # replay paused: the primary moves on, the replica does not
        time.sleep(2 * CHECK_S)
        feed_ids(base, tokens)  # a lag check with the replica caught up
        sql(on_replica, "SELECT pg_wal_replay_pause()")
        filed = time.monotonic()
        case = file_case(base, type_code, "r-second")
        # its filer sees it at once (read-your-writes: /track reads the primary) ...
        track = httpx.get(f"{base}/api/v1/track/{case['tracking_code']}")
        assert track.status_code == 200
        # ... and so does the dispatcher's own listing (the primary)
        assert case["id"] in listed(base, tokens["disp"])
        # the live feed (the replica) does not, within the bound
        assert case["id"] not in feed_ids(base, tokens)
        stale_until = time.monotonic() - filed
        assert stale_until < MAX_LAG_S - 0.5, "the machine was too slow to show the bound"
        primary_reads = reads(base)["primary"]
        while case["id"] not in feed_ids(base, tokens):
            assert time.monotonic() - filed < MAX_LAG_S + 5, "reads never fell back"
            time.sleep(0.1)
        fell_back = time.monotonic() - filed
        # past the bound (measured to within one check), never before
        assert MAX_LAG_S - CHECK_S - 0.2 <= fell_back <= MAX_LAG_S + 3, fell_back
        assert reads(base)["primary"] > primary_reads
        assert sql(on_replica, "SELECT pg_is_wal_replay_paused()") is True
        assert case["id"] not in {  # the replica itself still lacks it
            r[0] for r in _rows(on_replica, "SELECT id FROM case_file")
        }
        log = (tmp_path / "server.log").read_text(errors="replace")
        assert "lag-tolerant reads go to the primary" in log

        # replay resumed: back to the replica
        sql(on_replica, "SELECT pg_wal_replay_resume()")
        deadline = time.monotonic() + 10
        while True:
            mark = reads(base)["replica"]
            feed_ids(base, tokens)
            if reads(base)["replica"] > mark:
                break
            assert time.monotonic() < deadline, "reads never went back to the replica"
            time.sleep(0.2)
        assert case["id"] in feed_ids(base, tokens)
    on_primary.close()
    on_replica.close()


def _rows(conn: Any, query: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(query)
        return list(cur.fetchall())


def test_replica_commands_refuse_without_an_embedded_primary(tmp_path: Path) -> None:
    empty = tmp_path / "home"
    empty.mkdir()
    for args, env in (
        (("db", "replica", "status"), {}),
        (("db", "replica", "start"), {}),
        (("db", "replica", "status"), {"SHUDI_DATABASE_URL": "postgresql://x@127.0.0.1/x"}),
    ):
        out = cli(empty, *args, **env)
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("shudi: error: "), out.stderr


def test_read_helpers_go_to_the_replica_and_to_the_primary_when_unset(
    primary: embedded.Cluster, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from shudi import database, read_replica, settings

    in_recovery = text("SELECT pg_is_in_recovery()")
    monkeypatch.setenv("SHUDI_DATABASE_URL", primary.app_url())
    try:
        for read_url, on_replica in ((world["read_url"], True), ("", False)):
            monkeypatch.setenv("SHUDI_DATABASE_READ_URL", read_url)
            settings.get_settings.cache_clear()
            database.get_engine.cache_clear()
            with read_replica.read_session() as session:
                assert session.execute(in_recovery).scalar_one() is on_replica
            with read_replica.read_transaction() as conn:
                assert conn.execute(in_recovery).scalar_one() is on_replica
            with read_replica.open_read() as conn:
                assert conn.execute(in_recovery).scalar_one() is on_replica
            with database.get_engine().connect() as conn:  # writes: always the primary
                assert conn.execute(in_recovery).scalar_one() is False
    finally:
        settings.get_settings.cache_clear()
        database.get_engine.cache_clear()
