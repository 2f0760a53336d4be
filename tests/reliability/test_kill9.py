"""PostgreSQL killed with -9 during a burst of reports → every acknowledged report is there after
restart (product acceptance point).

The test runs a PostgreSQL cluster of its own in a temporary folder (never the shared one under
./var), starts the real server (``shudi serve``) on it, sends reports from several threads,
SIGKILLs the postmaster and all its children about 1.5 s into the burst, restarts the cluster
(crash recovery) and then checks that every report answered 201 is stored with its reporter,
that the app recovers by itself, and that Idempotency-Keys still replay the stored answer.
The machinery is shared with the 10,000-report run of ``make reliability`` (reliability/crash.py).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from support import live_server, load_mini

from jurisdictions import catalog
from reliability import crash
from shudi import embedded
from shudi.migrate import upgrade
from shudi.pii import get_cipher

THREADS = 8
BURST_S = 6.0
MAX_REQUESTS = 3_000
KILL_AFTER_S = 1.5
RECOVERY_LIMIT_S = 10.0
WHERE = (120.002, 30.002)  # inside the mini district (T1 / C11 / P111)


@pytest.fixture
def cluster() -> Iterator[embedded.Cluster]:
    with crash.own_cluster("shudi-kill9-", "shudi_kill9") as cl:
        yield cl


@pytest.fixture
def server(cluster: embedded.Cluster) -> Iterator[str]:
    """The migrated database with the mini district and taxonomy, served by ``shudi serve``."""
    url = cluster.url()
    upgrade(url)
    eng = create_engine(url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
    eng.dispose()
    with live_server(url, log=cluster.root.parent / "server.log") as base:
        yield base


def test_kill9_during_report_burst_loses_no_acknowledged_report(
    cluster: embedded.Cluster, server: str
) -> None:
    base = server
    url = cluster.url()
    assert crash.durability(url) == ("on", "on")
    type_code = str(
        httpx.get(
            f"{base}/api/v1/violation-types",
            params={"agency": "urban_management", "reportable": True},
        ).json()[0]["code"]
    )

    burst = crash.Burst(
        base=base,
        type_code=type_code,
        where=WHERE,
        tag=uuid.uuid4().hex[:8],
        total=MAX_REQUESTS,
        threads=THREADS,
        seconds=BURST_S,
    )
    burst.start()
    time.sleep(KILL_AFTER_S)
    t_kill = time.monotonic()
    killed, t_killed = crash.kill9(cluster)
    time.sleep(0.5)
    during, healthz_down_s, _ = crash.probe(base, "/healthz")
    assert burst.join(BURST_S + 2 * crash.CLIENT_TIMEOUT_S), "a client thread hung"

    t_restart = time.monotonic()
    embedded.start(cluster)
    t_db_back = time.monotonic()
    assert cluster.url() == url, "the restarted cluster moved to another port"
    recovery_s = crash.wait_healthy(base)

    attempts = burst.attempts
    acked = [a for a in attempts if a.outcome == "201"]
    failed = [a for a in attempts if a.outcome != "201"]
    in_flight = [a for a in attempts if a.started < t_killed and a.ended > t_kill]
    acked_after_kill = [a for a in acked if a.ended > t_killed]

    rows, events = crash.stored_reports(url, burst.prefix)
    by_desc = {row.description: row for row in rows}
    lost = crash.missing(acked, rows, events, get_cipher())
    unacked_committed = [a for a in failed if a.description in by_desc]

    errors = Counter(a.outcome for a in failed)
    summary = (
        f"kill -9 of {killed} processes at {t_kill - burst.t_start:.2f}s: requests "
        f"{len(attempts)}, acknowledged {len(acked)} ({len(acked_after_kill)} answered after the "
        f"kill), lost {len(lost)}, errors during outage {len(failed)} {dict(errors)}, "
        f"in flight at the kill {len(in_flight)} (committed without acknowledgement "
        f"{len(unacked_committed)}), /healthz while down {during} in {healthz_down_s:.2f}s, "
        f"restart {t_db_back - t_restart:.2f}s, recovery {recovery_s:.2f}s"
    )
    print(summary)
    assert acked and failed, f"the kill did not land mid-burst: {summary}"
    assert not lost, f"acknowledged reports missing or incomplete: {lost[:5]}; {summary}"
    assert len(rows) == len(by_desc), f"a report was stored twice; {summary}"
    timeouts = [a for a in attempts if a.outcome.startswith("timeout")]
    assert not timeouts, f"the server hung instead of answering; {summary}"
    other = Counter(a.outcome for a in attempts if a.outcome not in ("201", "503"))
    log_tail = (cluster.root.parent / "server.log").read_text(errors="replace")[-4000:]
    assert not other, f"answers other than 201 or 503: {dict(other)}; {summary}\n{log_tail}"
    unmarked = [a for a in failed if a.outcome == "503" and not a.retry_after]
    assert not unmarked, f"{len(unmarked)} 503s without Retry-After; {summary}"
    assert during == "503", f"/healthz while the database is down; {summary}"
    assert recovery_s <= RECOVERY_LIMIT_S, f"slow recovery; {summary}"

    # Idempotency survives the crash: acknowledged keys (first ones, and the last answered
    # before the kill) replay the stored answer; unanswered keys, retried, make exactly one case.
    before_kill = [a for a in acked if a.ended <= t_kill]
    sample = {a.n: a for a in [*acked[:3], *before_kill[-5:], *acked[-3:]]}.values()
    with httpx.Client(base_url=base, timeout=crash.CLIENT_TIMEOUT_S) as client:
        for a in sample:
            again = crash.post_report(client, a, type_code, WHERE)
            assert again.status_code == 201, f"replay of {a.key}: {again.text}; {summary}"
            assert again.json() == a.body, f"replay of {a.key} differs; {summary}"

    burst.retry(failed)
    bad = [(a.key, a.outcome) for a in failed if a.outcome != "201"]
    assert not bad, f"retries after recovery failed: {bad[:5]}; {summary}"
    for a in failed:
        if a.description in by_desc:
            assert a.body is not None and a.body["id"] == by_desc[a.description].id, (
                f"{a.key} was committed unanswered, but its retry made another case; {summary}"
            )
    eng = create_engine(url)
    with eng.connect() as conn:
        dupes = conn.execute(
            text("""SELECT description, count(*) FROM case_file WHERE description LIKE :p
                    GROUP BY description HAVING count(*) > 1"""),
            {"p": f"{burst.prefix}%"},
        ).all()
        total = conn.execute(
            text("SELECT count(*) FROM case_file WHERE description LIKE :p"),
            {"p": f"{burst.prefix}%"},
        ).scalar_one()
    eng.dispose()
    assert not dupes, f"retried keys made duplicate cases: {dupes[:5]}; {summary}"
    assert total == len(attempts), f"{total} cases for {len(attempts)} keys; {summary}"
