"""Outbox fault: kill -9 of the sender and of PostgreSQL during a burst of reports with
notifications (issue #16).

On a cluster of its own (a temporary folder, its own port), with the sample district and the
taxonomy: ``shudi serve --no-notify`` takes :data:`REPORTS` reports (each with a phone, so each
makes one 受理 SMS) from 8 client threads; a separate ``shudi notify run`` delivers the outbox
to a local HTTP server speaking the signed-webhook protocol, which drops repeats of an
``Idempotency-Key`` (as a channel honouring the key does) and counts every raw delivery.
When a fifth of the reports are acknowledged the sender gets SIGKILL and is started again a
second later; at half, the postmaster and every backend get SIGKILL, the database stays down
:data:`DOWN_S` s, then restarts (crash recovery) while the clients and the sender carry on.
Failed reports are sent again with their keys; then the outbox is left to drain. Counted:

* acknowledged reports whose message did not reach the channel (lost): 0 expected;
* acknowledged reports with other than exactly one distinct message at the channel: 0;
* keys the channel received that belong to no stored message (sent from a rolled-back
  transaction): 0; messages still not marked sent after the drain: 0;
* raw deliveries beyond the distinct keys: the repeats the key absorbed (at-least-once).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import Engine, text

from benchmarks.common import ROOT, Result, Section, free_port
from benchmarks.intake import BENCH_LIMITS, load_district, reportable_types, request_points
from benchmarks.sinks import Sinks, sinks
from reliability import crash
from shudi import embedded
from shudi.database import make_engine
from shudi.migrate import upgrade

REPORTS = 5_000
THREADS = 8
SENDER_KILL_AT = 0.2  # share of the reports acknowledged when the sender is killed
DB_KILL_AT = 0.5  # … and when PostgreSQL is
DOWN_S = 3.0
DRAIN_LIMIT_S = 180.0
SECRET = "fault-secret"


def _env(url: str, hook: str) -> dict[str, str]:
    return (
        os.environ
        | BENCH_LIMITS
        | {
            "SHUDI_DATABASE_URL": url,
            "SHUDI_NOTIFY_WEBHOOK_URL": hook,
            "SHUDI_NOTIFY_WEBHOOK_SECRET": SECRET,
            "SHUDI_NOTIFY_QUIET_HOURS": "off",  # every message is due at once, day or night
            "SHUDI_NOTIFY_RATE_PER_HOUR": "1000000",  # the burst uses one phone number
            "SHUDI_NOTIFY_POLL_S": "0.2",
            "PYTHONPATH": str(ROOT),
        }
    )


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "console", *argv], cwd=ROOT, env=env, stdout=out,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


@contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """``shudi serve --no-notify`` on a free port; its base URL."""
    port = free_port()
    proc = _spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                   "--no-notify"], env, log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (see {log})")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sender and anything it started."""
    p = psutil.Process(proc.pid)
    for q in [p, *p.children(recursive=True)]:
        q.kill()
    proc.wait()


def drill(
    log: Callable[[str], None],
    workdir: Path,
    *,
    reports: int = REPORTS,
    prepare: Callable[[Engine], tuple[str, tuple[float, float]]] | None = None,
    cluster: Callable[[], AbstractContextManager[embedded.Cluster]] | None = None,
    restart: Callable[[embedded.Cluster], None] = embedded.start,
) -> dict[str, float]:
    """The run; its figures. ``prepare`` loads a district into the migrated database and
    answers a reportable type and a point (default: the sample district); ``cluster`` the
    PostgreSQL cluster to use and kill (default: one of its own in a temporary folder)."""
    own = cluster or (lambda: crash.own_cluster("shudi-outbox-fault-", "shudi_outbox_fault"))
    with own() as pg, sinks() as sink:
        url = pg.url()
        upgrade(url)
        engine = make_engine(url)
        try:
            type_code, where = (prepare or _prepare)(engine)
        finally:
            engine.dispose()
        env = _env(url, f"{sink.http_url}/hook")
        server_log, sender_log = (
            workdir / "outbox-fault-server.log",
            workdir / "outbox-fault-sender.log",
        )
        with _serve(env, server_log) as base:
            senders = [_spawn(["notify", "run"], env, sender_log)]
            try:
                figures = _burst(log, base, url, pg, sink, env, sender_log, senders, reports,
                                 type_code, where, restart)  # fmt: skip
            finally:
                for proc in senders:
                    if proc.poll() is None:
                        proc.terminate()
                        proc.wait(15)
    return figures


def _burst(
    log: Callable[[str], None], base: str, url: str, pg: embedded.Cluster, sink: Sinks,
    env: dict[str, str], sender_log: Path, senders: list[subprocess.Popen[bytes]], reports: int,
    type_code: str, where: tuple[float, float], restart: Callable[[embedded.Cluster], None],
) -> dict[str, float]:  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    burst = crash.Burst(base=base, type_code=type_code, where=where, tag=tag,
                        total=reports, threads=THREADS)  # fmt: skip
    log(f"outbox fault: {reports:,} reports from {THREADS} threads")
    burst.start()
    _wait_acked(burst, int(reports * SENDER_KILL_AT))
    deadline = time.monotonic() + 60  # the sender is at work (delivering) when it is killed
    while not sink.stats().get("hook", {}).get("unique") and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill9(senders[-1])
    sent_before = sink.stats().get("hook", {}).get("unique", 0)
    log(f"outbox fault: sender killed -9 ({sent_before} messages delivered by then)")
    time.sleep(1.0)
    senders.append(_spawn(["notify", "run"], env, sender_log))
    _wait_acked(burst, int(reports * DB_KILL_AT))
    killed, _ = crash.kill9(pg)
    log(f"outbox fault: PostgreSQL killed -9 ({killed} processes), down {DOWN_S:g} s")
    time.sleep(DOWN_S)
    restart(pg)
    burst.join(900)
    failed = [a for a in burst.attempts if a.outcome != "201"]
    if failed:
        log(f"outbox fault: sending {len(failed)} failed reports again (same keys)")
        burst.retry(failed)
    acked = [a for a in burst.attempts if a.outcome == "201" and a.body is not None]
    log(f"outbox fault: {len(acked):,} acknowledged; draining the outbox")
    engine = make_engine(url)
    try:
        drained_s = _drain(engine, sink)
        codes = [str(a.body["tracking_code"]) for a in acked if a.body]
        figures = _count(engine, sink, codes)
    finally:
        engine.dispose()
    return figures | {"reports": reports, "acknowledged": len(acked), "drain_s": drained_s,
                       "delivered_before_sender_kill": sent_before}  # fmt: skip


def _prepare(engine: Engine) -> tuple[str, tuple[float, float]]:
    load_district(engine)
    x, y = request_points(engine)[0]
    return reportable_types(engine)[0], (float(x), float(y))


def _wait_acked(burst: crash.Burst, n: int) -> None:
    deadline = time.monotonic() + 600
    while burst.acknowledged() < n and time.monotonic() < deadline:
        time.sleep(0.01)


def _drain(engine: Engine, sink: Sinks) -> float:
    """Seconds until no event or message is pending (or :data:`DRAIN_LIMIT_S`)."""
    start = time.monotonic()
    while time.monotonic() - start < DRAIN_LIMIT_S:
        try:
            with engine.connect() as conn:
                pending = conn.execute(  # reports' events not yet expanded count too
                    text("""SELECT (SELECT count(*) FROM notify_event)
                              + (SELECT count(*) FROM notify_message WHERE state = 'pending')""")
                ).scalar_one()
            if pending == 0:
                break
        except Exception:
            pass
        time.sleep(0.25)
    return time.monotonic() - start


def _count(engine: Engine, sink: Sinks, codes: list[str]) -> dict[str, float]:
    with engine.connect() as conn:
        per_code: dict[str, list[str | None]] = dict(
            conn.execute(
                text("""SELECT r.tracking_code, array_agg(m.key)
                        FROM case_reporter r
                        LEFT JOIN notify_message m ON m.case_id = r.case_id
                             AND m.template = 'case_accepted'
                        WHERE r.tracking_code = ANY(:c) GROUP BY 1"""),
                {"c": codes},
            ).all()
        )
        stored = set(conn.execute(text("SELECT key FROM notify_message")).scalars())
        unsent = conn.execute(
            text("SELECT count(*) FROM notify_message WHERE state <> 'sent'")
        ).scalar_one()
    got = sink.keys("hook")
    raw = sink.stats().get("hook", {}).get("raw", 0)
    lost = not_once = 0
    for code in codes:
        keys = [k for k in per_code.get(code) or [] if k]
        delivered = [k for k in keys if k in got]
        lost += 1 if not delivered else 0
        not_once += 1 if len(delivered) != 1 or len(keys) != 1 else 0
    return {
        "lost": lost,
        "not_exactly_once": not_once,
        "unknown_keys": len(got - stored),
        "unsent": unsent,
        "delivered": len(got),
        "raw_deliveries": raw,
        "repeats_absorbed": raw - len(got),
    }


def run(log: Callable[[str], None], workdir: Path, **how: Any) -> Section:
    """The part of ``make reliability``: the drill's figures as a section (``how``: passed
    to :func:`drill`)."""
    f = drill(log, workdir, **how)
    sec = Section(
        f"Outbox fault: kill -9 of the sender and of PostgreSQL during {REPORTS:,} reports "
        "with notifications"
    )
    sec.results += [
        Result("reports acknowledged (201)", f["acknowledged"], "reports"),
        Result("acknowledged reports whose message never reached the channel", f["lost"],
               "reports", "max", target=0),
        Result("acknowledged reports not delivered exactly once (distinct keys at the channel)",
               f["not_exactly_once"], "reports", "max", target=0),
        Result("keys delivered that belong to no stored message", f["unknown_keys"], "messages",
               "max", target=0),
        Result("messages not marked sent after the drain", f["unsent"], "messages", "max",
               target=0),
        Result("raw deliveries (the channel dropped the repeats by key)", f["raw_deliveries"],
               "requests", note=f"{f['repeats_absorbed']:.0f} repeats"),
        Result("outbox drained after the burst", f["drain_s"], "s"),
    ]  # fmt: skip
    sec.notes += [
        "The sender is a separate `shudi notify run` (the server runs `--no-notify`); the "
        "channel is a local HTTP server speaking the signed-webhook protocol that keeps the "
        "first delivery of each `Idempotency-Key` and counts every raw one.",
        f"Sender SIGKILLed at {SENDER_KILL_AT:.0%} of the reports acknowledged and restarted "
        f"1 s later; PostgreSQL (postmaster and backends) SIGKILLed at {DB_KILL_AT:.0%}, down "
        f"{DOWN_S:g} s, then crash recovery; failed reports sent again with their keys.",
    ]
    return sec
