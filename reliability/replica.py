"""Replica: the load run's mix (dispatchers and residents, reliability/load.py) at one offered
rate, without and with a streaming read replica, on this one machine.

A cluster of the run's own (a temporary folder) is seeded with :data:`STORED` cases; ``shudi db
replica``'s machinery (shudi/standby.py) makes its replica with ``pg_basebackup``. Then
:data:`ROUNDS` times, alternately: ``shudi serve`` (one worker) on the primary alone, and on
the primary with ``SHUDI_DATABASE_READ_URL`` at the replica; each phase is a short warm-up and
the mix of reliability/mix.py sent open loop at :data:`RATE` requests a second for
:data:`PHASE_S` seconds. Measured per phase: the latencies per request kind, the CPU seconds of each
PostgreSQL server's processes (postmaster and every backend, the exited ones included) and of
the app, and the transactions each server ran (``pg_stat_database``).

A replica on the same machine cannot add CPU: the question it answers is what moving the
lag-tolerant reads (the live map's GeoJSON polling, planners' listings) off the primary does
to the primary's load and to the p99s, and what the replica costs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, text

from benchmarks.common import (
    Result,
    Section,
    app_argv,
    environment,
    free_port,
    server,
    shown,
)
from benchmarks.intake import BENCH_LIMITS, load_district, seed_cases
from reliability import crash, load, mix
from shudi import embedded, standby
from shudi.database import make_engine
from shudi.migrate import upgrade
from shudi.read_replica import embedded_replica_url

STORED = 200_000
RATE = 20  # requests/s offered: a dispatch centre's ordinary daytime mix on one district
PHASE_S = 40
WARM_S = 8
ROUNDS = 2
MODES = ("primary only", "with replica")


def cluster_cpu(cluster: embedded.Cluster) -> float:
    """CPU seconds used so far by the cluster's postmaster and its children (live and
    exited)."""
    pid = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
    master = psutil.Process(pid)
    t = master.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in master.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return float(total)


def transactions(url: str) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(
                conn.execute(
                    text("""SELECT xact_commit + xact_rollback FROM pg_stat_database
                            WHERE datname = current_database()""")
                ).scalar_one()
            )
    finally:
        eng.dispose()


def wait_caught_up(primary_url: str, replica_url: str, timeout_s: float = 120) -> None:
    p, r = create_engine(primary_url), create_engine(replica_url)
    try:
        with p.connect() as conn:
            target = conn.execute(text("SELECT pg_current_wal_flush_lsn()")).scalar_one()
        deadline = time.monotonic() + timeout_s
        while True:
            with r.connect() as conn:
                behind = conn.execute(
                    text("SELECT pg_wal_lsn_diff(:t, pg_last_wal_replay_lsn())"), {"t": target}
                ).scalar_one()
            if behind <= 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica is still {behind} bytes behind")
            time.sleep(0.5)
    finally:
        p.dispose()
        r.dispose()


def phase(
    mode: str,
    urls: dict[str, str],
    clusters: dict[str, embedded.Cluster],
    sc: mix.Scenario,
    workdir: Path,
    offset: int,
) -> dict[str, Any]:
    """One server run in ``mode``: a warm-up, then the measured step."""
    env = {"SHUDI_DATABASE_URL": urls["primary"], **BENCH_LIMITS}
    if mode == "with replica":
        env |= {"SHUDI_DATABASE_READ_URL": urls["replica"], "SHUDI_READ_MAX_LAG_S": "5"}
    else:
        env |= {"SHUDI_DATABASE_READ_URL": ""}
    port = free_port()
    log_path = workdir / f"replica-server-{mode.replace(' ', '-')}-{offset}.log"
    with environment(env), server("shudi serve", app_argv(port), port, log_path) as app:
        meter = load.Meter(app.pid, None)
        load.paced(app.url, sc, RATE, WARM_S, "warm-up", meter)
        cpu0 = {k: cluster_cpu(c) for k, c in clusters.items()} | {"app": app.cpu_seconds()}
        tx0 = {k: transactions(u) for k, u in urls.items()}
        step = load.paced(app.url, sc, RATE, PHASE_S, mode, meter)
        cpu1 = {k: cluster_cpu(c) for k, c in clusters.items()} | {"app": app.cpu_seconds()}
        tx1 = {k: transactions(u) for k, u in urls.items()}
    wall = step.samples.seconds  # what the CPU seconds divide by
    return {
        "mode": mode,
        "step": step,
        "taken": 0,
        "cpu_pct": {k: 100 * (cpu1[k] - cpu0[k]) / wall for k in cpu0},
        "tx": {k: tx1[k] - tx0[k] for k in tx0},
    }


def run(log: Callable[[str], None], workdir: Path) -> Section:
    """The phases; their figures as a section of docs/reliability.md."""
    sec = Section(f"Replica: the load mix at {RATE}/s without and with a read replica")
    with crash.own_cluster("shudi-replica-load-", "shudi_replica_load") as primary:
        url = primary.url()
        upgrade(url)
        engine = make_engine(url)
        try:
            load_district(engine)
            log(f"replica: seeding {STORED:,} cases")
            sec.notes.append(seed_cases(engine, STORED))
            sc = mix.Scenario(load.make_plan(engine), load.photo())
        finally:
            engine.dispose()
        t0 = time.monotonic()
        replica = standby.start(primary=primary)
        replica_url = embedded_replica_url(primary)
        wait_caught_up(url, replica_url)
        made_s = time.monotonic() - t0
        try:
            urls = {"primary": url, "replica": replica_url}
            clusters = {"primary": primary, "replica": replica}
            phases = []
            taken = 0
            for r in range(ROUNDS):
                for mode in MODES:
                    log(f"replica: round {r + 1}, {mode}, {RATE}/s for {PHASE_S} s")
                    ph = phase(mode, urls, clusters, sc, workdir, taken)
                    taken += ph["taken"]
                    phases.append(ph)
                    log(f"replica: {mode}: {line(ph)}")
        finally:
            standby.stop(primary=primary, remove=True)
    _results(sec, phases, made_s)
    sec.commands += [
        "shudi db replica start   # (shudi/standby.py: pg_basebackup -R, slot shudi_replica)",
        shown(app_argv("PORT"))
        + "   # SHUDI_DATABASE_READ_URL=<the replica> in the 'with replica' phases",
        f"the mix of reliability/mix.py, open loop at {RATE}/s (in the run's own process)",
    ]
    return sec


def line(ph: dict[str, Any]) -> str:
    step: load.Step = ph["step"]
    cpu = ", ".join(f"{k} {v:.0f} %" for k, v in ph["cpu_pct"].items())
    return (
        f"{step.line()}; CPU of one core: {cpu}; transactions: primary {ph['tx']['primary']:,}, "
        f"replica {ph['tx']['replica']:,}"
    )


def _mean(phases: list[dict[str, Any]], mode: str, get: Callable[[dict[str, Any]], float]) -> float:
    values = [get(p) for p in phases if p["mode"] == mode]
    return sum(values) / len(values)


def _results(sec: Section, phases: list[dict[str, Any]], made_s: float) -> None:
    def worst(mode: str, name: str) -> float:
        return max(p["step"].p99(name) for p in phases if p["mode"] == mode)

    base, rep = MODES
    primary_cpu = {m: _mean(phases, m, lambda p: p["cpu_pct"]["primary"]) for m in MODES}
    sec.results += [
        Result(
            "primary PostgreSQL CPU with the replica (share of one core)",
            primary_cpu[rep],
            "%",
            "max",
            target_ratio=1.0,
            baseline=primary_cpu[base],
            baseline_name="primary only",
        ),
        Result(
            "replica PostgreSQL CPU (share of one core)",
            _mean(phases, rep, lambda p: p["cpu_pct"]["replica"]),
            "%",
        ),
        Result(
            "app CPU with the replica (share of one core)",
            _mean(phases, rep, lambda p: p["cpu_pct"]["app"]),
            "%",
            baseline=_mean(phases, base, lambda p: p["cpu_pct"]["app"]),
            baseline_name="primary only",
        ),
        Result(
            "share of transactions run on the replica",
            _mean(phases, rep, lambda p: 100 * p["tx"]["replica"] / max(1, sum(p["tx"].values()))),
            "%",
        ),
        *(
            Result(
                f"{name} p99 with the replica (worst phase)",
                worst(rep, name),
                "ms",
                "max",
                target=load.TARGET_P99_MS,
                baseline=worst(base, name),
                baseline_name="primary only",
            )
            for name in (load.REPORT, load.MAP)
        ),
        Result(
            "listing p99 with the replica (worst phase)",
            worst(rep, load.LISTING),
            "ms",
            baseline=worst(base, load.LISTING),
            baseline_name="primary only",
        ),
        Result(
            "error rate with the replica (worst phase)",
            max(p["step"].error_pct for p in phases if p["mode"] == rep),
            "%",
            "max",
            target=load.TARGET_ERROR_PCT,
        ),
        Result("replica made and caught up (pg_basebackup of the seeded cluster)", made_s, "s"),
    ]
    cores = len(os.sched_getaffinity(0))
    sec.notes += [
        f"one machine, {cores} cores shared with other work: the primary, the replica, the app "
        "and the load client all run on it, so the replica adds no CPU; it moves work off the "
        "primary (what a replica on its own host would take away) and adds its own WAL replay",
        "routed to the replica: the live map's `GET /api/v1/cases/feed?since=` polling and "
        "planners' listings (their token check stays on the primary: a revoked token must fail "
        "at once); everything else — reports, transitions, dispatchers' and officers' "
        "listings, tracking — on the primary",
        "targets: those of the load part at this rate (report and map poll p99 ≤ "
        f"{load.TARGET_P99_MS:.0f} ms, errors < {load.TARGET_ERROR_PCT} %) must still hold with "
        "the replica, and the primary's PostgreSQL CPU must not rise",
        f"phases, in the order run ({PHASE_S} s each after an {WARM_S} s warm-up; CPU is CPU "
        "seconds over the phase's wall time, 100 % = one core):",
        *(f"{p['mode']}: {line(p)}" for p in phases),
    ]
