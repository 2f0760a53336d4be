"""Fault: PostgreSQL killed with -9 during a burst of 10,000 reports.

On a cluster of its own (a temporary folder, its own port; nothing else is disturbed), with the
sample district and the taxonomy, ``shudi serve`` takes 10,000 reports from 8 client threads,
each with its own ``Idempotency-Key``. Once 3,000 are acknowledged, the postmaster and every
backend get SIGKILL; the database stays down for 5 s while the clients keep sending (and a probe
reads ``/healthz`` and a tracking page every 250 ms), then restarts (crash recovery). Counted:

* acknowledged reports lost (absent, altered, reporter missing, phone not sealed at rest or
  not opening with the configured key, not exactly one ``report`` event): 0 expected;
* answers in the window — requests in flight at the kill and those sent while the database was
  down — every one a 201 (committed before the kill) or a 503 with ``Retry-After``, none slow;
  no answer other than 201 or 503 at any time (a 500 at the kill is a bug);
* seconds from the database being back to ``/healthz`` answering 200 by itself (≤ 10 s);
* after the burst, every failed key is retried: each key makes exactly one case.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from benchmarks.common import Result, Section, app_argv, free_port, server, shown
from benchmarks.intake import load_district, reportable_types, request_points, service_database
from reliability import crash
from shudi import embedded
from shudi.database import make_engine
from shudi.migrate import upgrade
from shudi.pii import PREFIX, get_cipher

REPORTS = 10_000
THREADS = 8
KILL_AT = 3_000  # acknowledged reports before the kill
DOWN_S = 5.0
PROBE_EVERY_S = 0.25
RECOVERY_LIMIT_S = 10.0
SLOW_MS = 1_000.0  # an answer while the database is down slower than this counts as a hang


def _prepare(url: str) -> tuple[str, tuple[float, float]]:
    """Migrate, load the sample district and the taxonomy; a reportable type and a point."""
    upgrade(url)
    engine = make_engine(url)
    try:
        load_district(engine)
        x, y = request_points(engine)[0]
        return reportable_types(engine)[0], (float(x), float(y))
    finally:
        engine.dispose()


def _probe_down(base: str, until: float, code: str) -> list[tuple[str, str, float, str | None]]:
    """GET ``/healthz`` and a tracking page every :data:`PROBE_EVERY_S` until ``until``."""
    out = []
    while time.monotonic() < until:
        for path in ("/healthz", f"/api/v1/track/{code}"):
            status, secs, retry = crash.probe(base, path)
            out.append((path.rsplit("/", 1)[0] if code in path else path, status, secs, retry))
        time.sleep(PROBE_EVERY_S)
    return out


def run(log: Callable[[str], None], workdir: Path) -> Section:
    """The fault run; its figures as a section of docs/reliability.md."""
    sec = Section(f"Fault: kill -9 of PostgreSQL during a burst of {REPORTS:,} reports")
    with crash.own_cluster("shudi-fault-", "shudi_fault") as cluster:
        url = cluster.url()
        log(f"fault: own cluster on port {cluster.port}, sample district")
        type_code, where = _prepare(url)
        sync, fsync = crash.durability(url)
        port = free_port()
        sec.commands.append(shown(app_argv("PORT")) + "   # on the fault run's own cluster")
        with (
            service_database(url),
            server("shudi serve", app_argv(port), port, workdir / "fault-server.log") as app,
        ):
            burst = crash.Burst(
                base=app.url,
                type_code=type_code,
                where=where,
                tag=uuid.uuid4().hex[:8],
                total=REPORTS,
                threads=THREADS,
            )
            log(f"fault: {REPORTS:,} reports from {THREADS} threads; kill -9 at {KILL_AT:,} acked")
            burst.start()
            while burst.acknowledged() < KILL_AT and time.monotonic() - burst.t_start < 300:
                time.sleep(0.01)
            t_kill = time.monotonic()
            killed, t_killed = crash.kill9(cluster)
            acked_code = next(a.body["tracking_code"] for a in burst.attempts if a.body is not None)
            probes = _probe_down(app.url, t_killed + DOWN_S, acked_code)
            t_restart = time.monotonic()
            log("fault: restarting the cluster (crash recovery)")
            embedded.start(cluster)
            t_db_back = time.monotonic()
            recovery_s = crash.wait_healthy(app.url)
            log(f"fault: /healthz 200 again {recovery_s:.2f} s after the database was back")
            finished = burst.join(600)
            attempts = list(burst.attempts)
            failed = [a for a in attempts if a.outcome != "201"]
            # the window: every request in flight at the kill or sent while the database was
            # down (started before the restart, answered after the kill)
            down = [a for a in attempts if a.ended >= t_kill and a.started <= t_restart]
            in_flight = sum(1 for a in attempts if a.started < t_kill <= a.ended)
            outcomes = Counter(a.outcome for a in failed)
            first_ack = min(
                (a.ended for a in attempts if a.outcome == "201" and a.started >= t_db_back),
                default=float("inf"),
            )
            acked = [a for a in attempts if a.outcome == "201"]
            rows, events = crash.stored_reports(url, burst.prefix)
            lost = crash.missing(acked, rows, events, get_cipher())
            unsealed = sum(1 for r in rows if r.phone and not r.phone.startswith(f"{PREFIX}:"))
            by_desc = {r.description for r in rows}
            unacked_committed = sum(1 for a in failed if a.description in by_desc)
            # what the first sending answered, before the retries record theirs on the attempts
            down_answers = [(a.outcome, a.seconds, a.retry_after) for a in down] + [
                (status, secs, retry) for _, status, secs, retry in probes
            ]
            hung = sum(1 for a in attempts if a.outcome.startswith("timeout"))
            log(f"fault: retrying the {len(failed):,} failed keys")
            burst.retry(failed)
            still_failed = Counter(a.outcome for a in failed if a.outcome != "201")
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                per_key = conn.execute(
                    text("""SELECT count(*), count(DISTINCT description) FROM case_file
                            WHERE description LIKE :p"""),
                    {"p": f"{burst.prefix}%"},
                ).one()
        finally:
            engine.dispose()

    down_ok = sum(
        1 for status, _, retry in down_answers if status == "201" or (status == "503" and retry)
    )
    other = sum(n for status, n in Counter(a.outcome for a in attempts).items()
                if status not in ("201", "503"))  # fmt: skip
    down_max_ms = 1000 * max((secs for _, secs, _ in down_answers), default=0.0)
    probe_counts = Counter((path, status, retry) for path, status, _, retry in probes)
    sec.results += [
        Result("acknowledged reports lost after kill -9", len(lost), "reports", "max", target=0),
        Result("reporters' phone numbers stored unsealed", unsealed, "rows", "max", target=0),
        Result(
            "keys that made no case or two after the retries",
            abs(REPORTS - per_key[0]) + (per_key[0] - per_key[1]),
            "keys",
            "max",
            target=0,
        ),
        Result("requests that hung (no answer in 10 s)", hung, "requests", "max", target=0),
        Result(
            "answers in flight at the kill or sent while down that were 201 or 503 + Retry-After",
            100 * down_ok / max(len(down_answers), 1),
            "%",
            "min",
            target=100,
        ),
        Result("answers other than 201 or 503 (any time)", other, "answers", "max", target=0),
        Result(
            "slowest answer while the database was down",
            down_max_ms,
            "ms",
            "max",
            target=SLOW_MS,
        ),
        Result(
            "recovery: database back → /healthz 200, by itself",
            recovery_s,
            "s",
            "max",
            target=RECOVERY_LIMIT_S,
        ),
        Result(
            "database back → first report acknowledged",
            first_ack - t_db_back,
            "s",
            "max",
            target=RECOVERY_LIMIT_S,
        ),
    ]
    sec.notes += [
        f"own cluster in a temporary folder, synchronous_commit={sync}, fsync={fsync}; the "
        f"sample district and taxonomy; every report at one point ({where[0]:.5f}, "
        f"{where[1]:.5f}), type `{type_code}`, phone and contact name given, its own "
        "Idempotency-Key; rate limits on with ceilings the burst never reaches",
        f"{THREADS} client threads (httpx, keep-alive, 10 s time-out, 0.1 s pause after a "
        f"failure); SIGSTOP then SIGKILL of all {killed} PostgreSQL processes "
        f"{t_kill - burst.t_start:.1f} s into the burst, after {KILL_AT:,} acknowledgements; "
        f"down for {t_restart - t_killed:.1f} s; restart with crash recovery "
        f"{t_db_back - t_restart:.1f} s",
        f"{len(attempts):,} requests{'' if finished else ' (a client thread was still running)'}"
        f": {len(acked):,} acknowledged (201), {len(failed):,} failed {dict(outcomes)}; "
        f"committed but never acknowledged (in flight at the kill; the retry with the same key "
        f"replayed the stored answer): {unacked_committed}",
        f"window (in flight at the kill or sent before the restart): {len(down)} report "
        f"requests, {in_flight} of them in flight at the kill, "
        f"{dict(Counter(a.outcome for a in down))}; {len(probes)} probes answered; probes "
        + ", ".join(f"{p} → {s} (Retry-After {r}) ×{n}" for (p, s, r), n in probe_counts.items()),
        f"every acknowledged report checked in the database: same id, description and tracking "
        f"code, reporter row present, name and phone opening with the configured key "
        f"(`shudi.pii.get_cipher`) to what was sent, never the plain number; exactly one "
        f"`report` event. {len(failed):,} failed keys retried after recovery: "
        f"{'all answered 201' if not still_failed else dict(still_failed)}; "
        f"{per_key[0]:,} cases for {REPORTS:,} keys",
    ]
    return sec
