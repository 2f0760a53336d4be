"""Load: the dispatch centre's mix (reliability/mix.py) against 200,000 stored cases, beside
bare resolve on the same server and clients in the same run, judged against the targets of
issue #17, and profiled.

A scratch database on the service's cluster (created, migrated, seeded with
:func:`benchmarks.intake.seed_cases`, dropped afterwards) is served by ``shudi serve`` as
deployed (rate limits raised out of the way: the load comes from one address). In order:

1. warm-up: the mix, closed loop, not counted (it opens the maps);
2. bare ``GET /api/v1/resolve``, closed loop, :data:`CLIENTS` clients; then the mix with the
   same clients (throughput ratio; target ≥ :data:`TARGET_RATIO`×);
3. the mix open loop at 1/s and at 10/s (latency ratio; target ≤ :data:`TARGET_LOW_RATIO`×);
4. the mix open loop at :data:`TARGET_RATIO`× the bare-resolve throughput just measured: the
   *held rate* is judged there — p99 ≤ :data:`TARGET_P99_MS` ms, errors <
   :data:`TARGET_ERROR_PCT` %, ≥ :data:`MIN_ACHIEVED` of the offered rate answered in time;
   then one step above it (headroom, not judged);
5. the mix closed loop again, profiled (:mod:`reliability.profile`).

Each step's CPU (client, server, PostgreSQL, the whole machine) is the difference of CPU
times across that step. Every response body is scanned for mobile phone numbers. Sizes can
be reduced while developing: ``SHUDI_LOAD_STORED``, ``SHUDI_LOAD_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from sqlalchemy import Engine, make_url, text

from benchmarks.common import Result, Section, app_argv, database_url, free_port, server, shown
from benchmarks.intake import (
    _tree_cpu,
    load_district,
    postmaster_pid,
    reportable_types,
    request_points,
    scratch_database,
    seed_cases,
    service_database,
)
from reliability import mix, profile

STORED = int(os.environ.get("SHUDI_LOAD_STORED", "200000"))
SECONDS = float(os.environ.get("SHUDI_LOAD_SECONDS", "30"))
CLIENTS = 16
WARM_S = 10.0
LOW_RATES = (1.0, 10.0)
TARGET_RATIO = 0.5
HEADROOM = 0.75  # a step above the target rate, × bare resolve (not judged)
TARGET_P99_MS = 200.0
TARGET_ERROR_PCT = 0.1
TARGET_LOW_RATIO = 1.5
MIN_ACHIEVED = 0.95
PASSWORD = secrets.token_urlsafe(12)
REPORT = "resident: report"
MAP = "map: changes since cursor"
LISTING = "dispatcher: listing"


@dataclass
class Step:
    """One measured run: its samples and the CPU used during it."""

    label: str
    samples: mix.Samples
    offered: float | None = None  # requests/s (open loop); None for a closed loop
    server_cpu_s: float = 0.0
    pg_cpu_s: float = 0.0
    busy_cores: float = 0.0
    load_avg: float = 0.0
    maps: int = 0
    per_name: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def rows(self) -> list[tuple[float, str, float, int]]:
        return self.samples.rows

    @property
    def requests(self) -> int:
        return len(self.rows)

    @property
    def rate(self) -> float:
        """Answered requests a second."""
        return sum(1 for r in self.rows if r[3]) / self.samples.seconds

    @property
    def on_time_rate(self) -> float:
        """Requests a second answered (2xx) within 1 s of when they were due."""
        return sum(1 for r in self.rows if 200 <= r[3] < 300 and r[2] < 1000) / self.samples.seconds

    @property
    def error_pct(self) -> float:
        bad = sum(1 for r in self.rows if not 200 <= r[3] < 300)
        return 100 * bad / self.requests if self.requests else 100.0

    def p99(self, name: str) -> float:
        return self.per_name.get(name, {}).get("p99", float("inf"))

    def pct(self, q: float) -> float:
        ms = [r[2] for r in self.rows if r[3]]
        return float(np.percentile(ms, q)) if ms else float("inf")

    def statuses(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            if not 200 <= r[3] < 300:
                key = f"{r[1]} → {r[3] or 'no answer'}"
                out[key] = out.get(key, 0) + 1
        return out

    def fill(self) -> None:
        names = sorted({r[1] for r in self.rows})
        for name in names:
            ms = np.array([r[2] for r in self.rows if r[1] == name and r[3]])
            if len(ms):
                self.per_name[name] = {
                    "n": float(len(ms)),
                    "p50": float(np.percentile(ms, 50)),
                    "p99": float(np.percentile(ms, 99)),
                }

    def cpu_text(self) -> str:
        s = self.samples.seconds
        return (
            f"CPU during the step (cores): server {self.server_cpu_s / s:.2f}, PostgreSQL "
            f"{self.pg_cpu_s / s:.2f}, this client {self.samples.client_cpu_s / s:.2f}, machine "
            f"{self.busy_cores:.2f} of {len(os.sched_getaffinity(0))}; load average after "
            f"{self.load_avg:.2f}"
        )

    def line(self) -> str:
        offered = f"offered {self.offered:g}/s, " if self.offered else ""
        lat = "; ".join(
            f"{n} {v['p50']:.0f}/{v['p99']:.0f} ms (n={v['n']:.0f})"
            for n, v in self.per_name.items()
        )
        late = f", {self.samples.late_sends} sends late" if self.samples.late_sends else ""
        return (
            f"**{self.label}**: {offered}{self.rate:.1f} answers/s over "
            f"{self.samples.seconds:.0f} s, p50 {self.pct(50):.1f} ms, p99 {self.pct(99):.1f} ms, "
            f"errors {self.error_pct:.3f} % {self.statuses() or ''}{late}; {self.cpu_text()}; "
            f"open maps {self.maps}; per operation p50/p99: {lat}"
        )


class Meter:
    """CPU times of the server's process tree, PostgreSQL's and the machine, across a step."""

    def __init__(self, server_pid: int, pg_pid: int | None) -> None:
        self.server_pid, self.pg_pid = server_pid, pg_pid

    def measure(self, label: str, run: Coroutine[Any, Any, mix.Samples], **kw: Any) -> Step:
        s0, p0, m0 = _tree_cpu(self.server_pid), _tree_cpu(self.pg_pid), psutil.cpu_times()
        samples = asyncio.run(run)
        s1, p1, m1 = _tree_cpu(self.server_pid), _tree_cpu(self.pg_pid), psutil.cpu_times()
        idle = (m1.idle + m1.iowait) - (m0.idle + m0.iowait)
        step = Step(label, samples, server_cpu_s=s1 - s0, pg_cpu_s=p1 - p0, **kw)
        step.busy_cores = max(0.0, (sum(m1) - sum(m0) - idle) / samples.seconds)
        step.load_avg = os.getloadavg()[0]
        step.fill()
        return step


def _users(engine: Engine, agencies: list[str]) -> dict[str, Any]:
    """Four dispatchers and an officer of each agency, each with a bearer token."""
    from accounts.service import authenticate, create_user, issue_token

    accounts: list[tuple[str, str, dict[str, str]]] = [
        (f"load-dispatcher-{k}", "dispatcher", {}) for k in range(4)
    ] + [(f"load-officer-{a}", "agency_officer", {"agency": a}) for a in agencies]
    tokens: dict[str, Any] = {"dispatcher": [], "officer": []}
    with engine.begin() as conn:
        for username, role, scope in accounts:
            create_user(conn, username=username, password=PASSWORD, role=role, **scope)
            principal = authenticate(conn, username=username, password=PASSWORD)
            token, _ = issue_token(conn, principal=principal)
            if role == "dispatcher":
                tokens["dispatcher"].append(token)
            else:
                tokens["officer"].append([scope["agency"], token])
    return tokens


def make_plan(engine: Engine) -> dict[str, Any]:
    """What the users need: tokens, cases to accept and start, codes, filters, points."""
    from incidents.access import SEES_PERSONAL_DATA
    from incidents.models import OPEN_STATUSES

    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        reported = q("""SELECT id, version FROM case_file WHERE status = 'reported'
                        ORDER BY random() LIMIT 20000""")
        agencies = [
            r[0]
            for r in q("""SELECT handler_party FROM case_file WHERE handler_party IS NOT NULL
            GROUP BY 1 ORDER BY count(*) FILTER (WHERE status = 'dispatched') DESC, count(*) DESC
            LIMIT 3""")
        ]
        dispatched = {
            a: [
                [int(r.id), int(r.version)]
                for r in conn.execute(
                    text("""SELECT id, version FROM case_file WHERE status = 'dispatched'
                            AND handler_party = :a ORDER BY random() LIMIT 5000"""),
                    {"a": a},
                )
            ]
            for a in agencies
        }
        open_ids = [
            int(r[0])
            for r in q(f"""SELECT id FROM case_file WHERE status IN
            ({", ".join(f"'{s}'" for s in OPEN_STATUSES)}) ORDER BY random() LIMIT 5000""")
        ]
        codes = [
            r[0] for r in q("SELECT tracking_code FROM case_reporter ORDER BY random() LIMIT 5000")
        ]
        towns = [
            r[0] for r in q("SELECT DISTINCT town_code FROM case_file WHERE town_code IS NOT NULL")
        ]
    types = reportable_types(engine)
    return {
        "tokens": _users(engine, agencies),
        "reported": [[int(r.id), int(r.version)] for r in reported],
        "dispatched": dispatched,
        "officer_cases": {a: [c[0] for c in v[-1000:]] for a, v in dispatched.items()},
        "open_ids": open_ids,
        "codes": codes,
        "filters": {
            "status": list(OPEN_STATUSES),
            "town": towns,
            "type": types,
            "overdue": ["true", "false"],
        },
        "points": request_points(engine).tolist(),
        "types": types,
        "may_see_phones": sorted(r.value for r in SEES_PERSONAL_DATA),
    }


def photo() -> bytes:
    """A real JPEG (640×480, a gradient with noise, quality 85), as a phone would send."""
    import io

    from PIL import Image

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:480, 0:640]
    base = np.stack([x * 255 / 640, y * 255 / 480, (x + y) * 255 / 1120], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _maps_for(rate: float) -> int:
    """Open maps at ``rate`` requests/s when each polls every 2 s."""
    return max(1, round(rate * mix.SHARES["map: changes since cursor"] * mix.POLL_EVERY_S))


def paced(
    url: str, sc: mix.Scenario, rate: float, seconds: float, label: str, meter: Meter
) -> Step:
    """The mix open loop at ``rate`` for ``seconds``, with the maps of that rate opened first."""
    need = _maps_for(rate)
    asyncio.run(mix.open_maps(url, sc, max(0, need - len(sc.maps))))
    del sc.maps[need:]
    return meter.measure(label, mix.open_loop(url, sc, rate, seconds), offered=rate, maps=need)


def _steps(
    url: str,
    meter: Meter,
    sc: mix.Scenario,
    engine: Engine,
    db: str,
    workdir: Path,
    log: Callable[[str], None],
) -> tuple[list[Step], list[mix.Samples], profile.Profile]:
    """Every step in order; the map openings (full feeds) done between them; the profile."""
    steps: list[Step] = []
    openings: list[mix.Samples] = []

    def maps(rate: float) -> int:
        """As many open maps as poll every 2 s at ``rate``: opened (full feed) or closed."""
        need = _maps_for(rate)
        openings.append(asyncio.run(mix.open_maps(url, sc, max(0, need - len(sc.maps)))))
        del sc.maps[need:]
        return need

    def closed(label: str, rate: float, seconds: float, only: str | None = None) -> Step:
        n = maps(rate) if only is None else len(sc.maps)
        step = meter.measure(label, mix.closed_loop(url, sc, CLIENTS, seconds, only), maps=n)
        steps.append(step)
        log(f"load: {step.line()}")
        return step

    def opened(label: str, rate: float) -> Step:
        n = maps(rate)
        step = meter.measure(label, mix.open_loop(url, sc, rate, SECONDS), offered=rate, maps=n)
        steps.append(step)
        log(f"load: {step.line()}")
        return step

    closed("warm-up (not judged)", 50, WARM_S)
    bare = closed(f"bare resolve, closed loop, {CLIENTS} clients", 0, SECONDS, only=mix.RESOLVE)
    target = round(TARGET_RATIO * bare.rate)
    closed(f"mix, closed loop, {CLIENTS} clients", target, SECONDS)
    for rate in LOW_RATES:
        opened(f"mix, open loop, {rate:g}/s", rate)
    opened(f"mix, open loop, {TARGET_RATIO:g}× bare resolve", target)
    opened(
        f"mix, open loop, {HEADROOM:g}× bare resolve (headroom, not judged)",
        round(HEADROOM * bare.rate),
    )
    maps(target)
    finish = profile.start(url, meter.server_pid, engine, db, SECONDS, workdir)
    closed(f"mix, closed loop, {CLIENTS} clients, profiled", target, SECONDS)
    return steps, openings, finish()


def run(log: Callable[[str], None], workdir: Path) -> Section:
    """The load run; its figures as a section of docs/reliability.md."""
    from shudi.database import make_engine

    sec = Section(f"Load: the dispatch centre's mix against {STORED:,} stored cases")
    with scratch_database(database_url()) as url:
        engine = make_engine(url)
        try:
            load_district(engine)
            log(f"load: seeding {STORED:,} cases")
            sec.notes.append(seed_cases(engine, STORED))
            plan = make_plan(engine)
            (workdir / "load-plan.json").write_text(json.dumps(plan))
            sc = mix.Scenario(plan, photo())
            port = free_port()
            with (
                service_database(url),
                server("shudi serve", app_argv(port), port, workdir / "load-server.log") as app,
            ):
                meter = Meter(app.pid, postmaster_pid(engine))
                db = str(make_url(url).database)
                steps, openings, prof = _steps(app.url, meter, sc, engine, db, workdir, log)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM case_file")).scalar_one()
        finally:
            engine.dispose()
    _results(sec, steps, openings, prof, sc, stored)
    sec.commands += [
        shown(app_argv("PORT")) + "   # on the scratch database, rate limits raised",
        "the client: reliability/mix.py (asyncio, in the process of `python -m reliability.run`)",
    ]
    return sec


def _results(
    sec: Section,
    steps: list[Step],
    openings: list[mix.Samples],
    prof: profile.Profile,
    sc: mix.Scenario,
    stored: int,
) -> None:
    bare = steps[1]
    closed_mix = steps[2]
    low, ten = steps[3], steps[4]
    held, above = steps[5], steps[6]
    cores = len(os.sched_getaffinity(0))
    full = [r[2] for o in openings for r in o.rows if r[3] == 200]
    sec.results += [
        Result(f"bare resolve, closed loop, {CLIENTS} clients", bare.rate, "requests/s"),
        Result(
            f"mix, closed loop, {CLIENTS} clients (× bare resolve)",
            closed_mix.rate,
            "requests/s",
            "min",
            target_ratio=TARGET_RATIO,
            baseline=bare.rate,
            baseline_name="bare resolve",
        ),
        Result(
            "held rate: mix answered on time, open loop at 0.5× bare resolve",
            held.on_time_rate,
            "requests/s",
            "min",
            target=MIN_ACHIEVED * (held.offered or 0),
        ),
        Result(
            f"mix p99 at {held.offered:g}/s (0.5× bare)",
            held.pct(99),
            "ms",
            "max",
            target=TARGET_P99_MS,
        ),
        Result(
            f"mix errors at {held.offered:g}/s", held.error_pct, "%", "max", target=TARGET_ERROR_PCT
        ),
        Result(
            "mix p50 at 10/s ÷ p50 at 1/s",
            ten.pct(50) / low.pct(50),
            "×",
            "max",
            target=TARGET_LOW_RATIO,
        ),
        Result("mix p50 at 1/s", low.pct(50), "ms"),
        Result("mix p50 at 10/s", ten.pct(50), "ms"),
        Result(f"mix p99 at {above.offered:g}/s (0.75× bare, headroom)", above.pct(99), "ms"),
        Result(
            f"map opening (full feed, {len(full)} maps, 4 at a time) p50",
            float(np.percentile(full, 50)) if full else float("nan"),
            "ms",
        ),
        *(
            Result(f"{who} CPU per request, {what}", 1000 * cpu / max(step.requests, 1), "ms")
            for what, step in (("bare resolve", bare), ("closed-loop mix", closed_mix))
            for who, cpu in (
                ("server", step.server_cpu_s),
                ("PostgreSQL", step.pg_cpu_s),
                ("client", step.samples.client_cpu_s),
            )
        ),
        Result(
            "phone numbers in responses to roles that may not see them (all steps)",
            float(sc.scan["leaks"]),
            "numbers",
            "max",
            target=0,
        ),
    ]
    sec.notes += [
        f"{stored:,} cases stored at the end (seeded {STORED:,} plus the reports of the run); "
        f"{cores} cores",
        "the scenario (shares of requests, the same closed and open loop): "
        + ", ".join(f"{k} {v:.0%}" for k, v in mix.SHARES.items())
        + f"; one report in {mix.PHOTO_EVERY} is multipart with a 640×480 JPEG; each open map "
        f"polls its changes every {mix.POLL_EVERY_S:g} s (the open loop opens rate × "
        f"{mix.SHARES['map: changes since cursor']:.2f} × 2 maps, each with the full feed, "
        "before the step, not timed within it; the closed-loop mix runs with the maps of "
        f"{TARGET_RATIO:g}× the bare-resolve rate)",
        "the client's own cost: "
        f"{closed_mix.samples.client_cpu_s / closed_mix.samples.seconds:.2f} "
        f"of a core for {closed_mix.rate:.0f} requests/s in the closed-loop mix "
        f"({1000 * closed_mix.samples.client_cpu_s / max(closed_mix.requests, 1):.2f} ms a "
        "request) — the server's figures are the service's, not the client's",
        f"held rate: the open-loop step at {TARGET_RATIO:g}× the bare-resolve throughput just "
        f"measured, judged against the targets (answers within 1 s ≥ {MIN_ACHIEVED:.0%} of the "
        f"offered rate, p99 ≤ {TARGET_P99_MS:.0f} ms, errors < {TARGET_ERROR_PCT} %); "
        "latencies in the open loop count from when a request was due",
        f"scan of every response body ({sc.scan['bodies']:,}) for mainland mobile numbers: seen "
        f"(role: request) {sc.scan['phones'] or 'none'}; where the role may not see them: "
        f"{sc.scan['leaks']}" + (f", e.g. {sc.scan['examples']}" if sc.scan["examples"] else ""),
        *profile_notes(prof),
        "steps, in the order run:",
        *(s.line() for s in steps),
    ]


def profile_notes(prof: profile.Profile) -> list[str]:
    """Where the time went in the profiled closed-loop mix, as notes."""
    out = []
    if prof.spy_samples:
        out.append(
            f"py-spy on the server ({prof.spy_samples:,} samples of busy threads at 100/s over "
            f"{prof.seconds:.0f} s): " + ", ".join(f"{k} {v:.0%}" for k, v in prof.groups.items())
        )
        out.append(
            "the service's own frames most often on the stacks: "
            + ", ".join(f"{k} {v:.0%}" for k, v in prof.top_ours)
        )
    if prof.note:
        out.append(prof.note)
    if prof.pg_samples:
        out.append(
            f"pg_stat_activity sampled {prof.pg_samples} times (every 0.1 s): mean backends "
            + ", ".join(f"{k} {v:.2f}" for k, v in prof.pg_states.items())
        )
    out.append(
        f"pool: {prof.pool_waits:,} checkouts, mean wait {prof.pool_wait_ms_mean:.2f} ms, "
        f"{prof.pool_wait_over_10ms} waited over 10 ms"
    )
    if prof.thread_dumps:
        out.append(
            f"thread pool (py-spy dump every ~1 s, {prof.thread_dumps} dumps): busy worker "
            f"threads mean {prof.threads_busy_mean:.1f}, max {prof.threads_busy_max} (of 40)"
        )
    return out
