"""PostgreSQL killed with -9 during a burst of reports → every acknowledged report is there after
restart (product acceptance point).

The test runs a PostgreSQL cluster of its own in a temporary folder (never the shared one under
./var), starts the real server (``shudi serve``) on it, sends reports from several threads,
SIGKILLs the postmaster and all its children about 1.5 s into the burst, restarts the cluster
(crash recovery) and then checks that every report answered 201 is stored with its reporter,
that the app recovers by itself, and that Idempotency-Keys still replay the stored answer.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from support import live_server, load_mini

from jurisdictions import catalog
from shudi import embedded
from shudi.migrate import upgrade
from shudi.pii import get_cipher

THREADS = 8
BURST_S = 6.0
MAX_REQUESTS = 3_000
KILL_AFTER_S = 1.5
CLIENT_TIMEOUT_S = 10.0
BACKOFF_S = 0.1  # a client pausing after a failed request (the server says Retry-After)
RECOVERY_LIMIT_S = 10.0
WHERE = (120.002, 30.002)  # inside the mini district (T1 / C11 / P111)


@pytest.fixture
def cluster() -> Iterator[embedded.Cluster]:
    """A cluster of the test's own, under a folder the ``postgres`` user can enter."""
    # pytest's tmp folders (/tmp/pytest-of-root) are mode 700: unreachable for `postgres`.
    base = Path(tempfile.mkdtemp(prefix="shudi-kill9-", dir="/tmp"))
    base.chmod(0o755)
    cl = embedded.Cluster(root=base / "pg", db_name="shudi_kill9")
    try:
        embedded.start(cl)
        yield cl
    finally:
        try:
            embedded.stop(cl)
        finally:
            shutil.rmtree(base, ignore_errors=True)


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


def kill9(cluster: embedded.Cluster) -> tuple[int, float]:
    """SIGKILL the cluster's postmaster and every child of it: how many, and when the last
    signal was sent (reaping the dead can take a second more; the kill has landed by then).

    The postmaster is stopped (SIGSTOP) first so that it cannot fork a backend between listing
    its children and killing them; then each gets SIGKILL, which a stopped process obeys too.
    """
    pid = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
    master = psutil.Process(pid)
    assert str(cluster.data_dir) in " ".join(master.cmdline()), "not our cluster's postmaster"
    master.suspend()
    deadline = time.monotonic() + 5
    while master.status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
        time.sleep(0.001)
    procs = [master, *master.children(recursive=True)]
    for p in procs:
        p.kill()
    signalled = time.monotonic()
    _gone, alive = psutil.wait_procs(procs, timeout=10)
    assert not alive, f"still alive after SIGKILL: {alive}"
    return len(procs), signalled


@dataclass
class Attempt:
    n: int
    key: str
    description: str
    started: float
    ended: float = 0.0
    outcome: str = ""  # the HTTP status, or the client-side exception's name
    body: dict[str, Any] | None = None


def post_report(client: httpx.Client, type_code: str, a: Attempt) -> httpx.Response:
    return client.post(
        "/api/v1/reports",
        json={
            "lon": WHERE[0],
            "lat": WHERE[1],
            "type": type_code,
            "description": a.description,
            "phone": "13912345678",
            "contact_name": f"kill9-{a.n}",
        },
        headers={"Idempotency-Key": a.key},
    )


def test_kill9_during_report_burst_loses_no_acknowledged_report(
    cluster: embedded.Cluster, server: str
) -> None:
    base = server
    url = cluster.url()
    eng = create_engine(url)
    with eng.connect() as conn:
        sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        fsync = conn.execute(text("SHOW fsync")).scalar_one()
    eng.dispose()
    assert (sync, fsync) == ("on", "on")
    type_code = str(
        httpx.get(
            f"{base}/api/v1/violation-types",
            params={"agency": "urban_management", "reportable": True},
        ).json()[0]["code"]
    )

    run = uuid.uuid4().hex[:8]
    attempts: list[Attempt] = []
    lock = threading.Lock()
    counter = iter(range(MAX_REQUESTS))
    t_start = time.monotonic()
    stop_at = t_start + BURST_S

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT_S) as client:
            while time.monotonic() < stop_at:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                a = Attempt(
                    n=n,
                    key=f"kill9-{run}-{n}",
                    description=f"kill9 {run} report #{n}",
                    started=time.monotonic(),
                )
                try:
                    r = post_report(client, type_code, a)
                    a.outcome = str(r.status_code)
                    if r.status_code == 201:
                        a.body = r.json()
                except httpx.TimeoutException as exc:
                    a.outcome = f"timeout:{type(exc).__name__}"
                except httpx.TransportError as exc:
                    a.outcome = type(exc).__name__
                a.ended = time.monotonic()
                with lock:
                    attempts.append(a)
                if a.outcome != "201":
                    time.sleep(BACKOFF_S)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AFTER_S)
    t_kill = time.monotonic()
    killed, t_killed = kill9(cluster)
    time.sleep(0.5)
    t0 = time.monotonic()
    during: int | str
    try:
        during = httpx.get(f"{base}/healthz", timeout=CLIENT_TIMEOUT_S).status_code
    except httpx.HTTPError as exc:
        during = type(exc).__name__
    healthz_down_s = time.monotonic() - t0
    for t in threads:
        t.join(BURST_S + 2 * CLIENT_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a client thread hung"

    t_restart = time.monotonic()
    embedded.start(cluster)
    t_db_back = time.monotonic()
    assert cluster.url() == url, "the restarted cluster moved to another port"
    healthy_at = None
    while time.monotonic() - t_db_back < 30:
        try:
            if httpx.get(f"{base}/healthz", timeout=CLIENT_TIMEOUT_S).status_code == 200:
                healthy_at = time.monotonic()
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    recovery_s = (healthy_at - t_db_back) if healthy_at else float("inf")

    acked = [a for a in attempts if a.outcome == "201"]
    failed = [a for a in attempts if a.outcome != "201"]
    in_flight = [a for a in attempts if a.started < t_killed and a.ended > t_kill]
    acked_after_kill = [a for a in acked if a.ended > t_killed]

    eng = create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            text("""SELECT c.id, c.description, c.tracking_code, r.contact_name, r.phone,
                           r.tracking_code AS r_code
                    FROM case_file c LEFT JOIN case_reporter r ON r.case_id = c.id
                    WHERE c.description LIKE :p"""),
            {"p": f"kill9 {run} report #%"},
        ).all()
        events: dict[int, int] = dict(
            conn.execute(
                text("""SELECT case_id, count(*) FROM case_event
                        WHERE action = 'report' GROUP BY case_id""")
            ).all()
        )
    cipher = get_cipher()
    by_id = {row.id: row for row in rows}
    by_desc = {row.description: row for row in rows}
    lost = []
    for a in acked:
        assert a.body is not None
        row = by_id.get(a.body["id"])
        if (
            row is None
            or row.description != a.description
            or row.tracking_code != a.body["tracking_code"]
            or row.r_code != a.body["tracking_code"]
            or cipher.open(row.contact_name, column="contact_name") != f"kill9-{a.n}"
            or cipher.open(row.phone, column="phone") != "13912345678"
            or "13912345678" in row.phone  # sealed at rest
            or events.get(row.id) != 1
        ):
            lost.append((a.n, a.body["id"], row))
    unacked_committed = [a for a in failed if a.description in by_desc]

    errors = Counter(a.outcome for a in failed)
    summary = (
        f"kill -9 of {killed} processes at {t_kill - t_start:.2f}s: requests {len(attempts)}, "
        f"acknowledged {len(acked)} ({len(acked_after_kill)} answered after the kill), "
        f"lost {len(lost)}, errors during outage {len(failed)} {dict(errors)}, "
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
    assert during == 503, f"/healthz while the database is down; {summary}"
    assert recovery_s <= RECOVERY_LIMIT_S, f"slow recovery; {summary}"

    # Idempotency survives the crash: acknowledged keys (first ones, and the last answered
    # before the kill) replay the stored answer; unanswered keys, retried, make exactly one case.
    before_kill = [a for a in acked if a.ended <= t_kill]
    sample = {a.n: a for a in [*acked[:3], *before_kill[-5:], *acked[-3:]]}.values()
    with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT_S) as client:
        for a in sample:
            again = post_report(client, type_code, a)
            assert again.status_code == 201, f"replay of {a.key}: {again.text}; {summary}"
            assert again.json() == a.body, f"replay of {a.key} differs; {summary}"

    def retry(a: Attempt) -> tuple[Attempt, httpx.Response]:
        with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT_S) as client:
            return a, post_report(client, type_code, a)

    with ThreadPoolExecutor(THREADS) as pool:
        retried = list(pool.map(retry, failed))
    bad = [(a.key, r.status_code, r.text[:200]) for a, r in retried if r.status_code != 201]
    assert not bad, f"retries after recovery failed: {bad[:5]}; {summary}"
    for a, r in retried:
        if a.description in by_desc:
            assert r.json()["id"] == by_desc[a.description].id, (
                f"{a.key} was committed unanswered, but its retry made another case; {summary}"
            )
    with eng.connect() as conn:
        dupes = conn.execute(
            text("""SELECT description, count(*) FROM case_file WHERE description LIKE :p
                    GROUP BY description HAVING count(*) > 1"""),
            {"p": f"kill9 {run} report #%"},
        ).all()
        total = conn.execute(
            text("SELECT count(*) FROM case_file WHERE description LIKE :p"),
            {"p": f"kill9 {run} report #%"},
        ).scalar_one()
    eng.dispose()
    assert not dupes, f"retried keys made duplicate cases: {dupes[:5]}; {summary}"
    assert total == len(attempts), f"{total} cases for {len(attempts)} keys; {summary}"
