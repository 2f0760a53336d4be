"""The live map pushed: 200 open dispatch maps on ``/api/v1/cases/stream``, beside the same 200
maps polling the feed every 2 s, on one server in one run.

Targets (issue #17): 200 open dispatch maps cost **≤ 10 % of a core at idle** (the server's
CPU and PostgreSQL's, both process trees, over :data:`IDLE_S` seconds with no case changing)
and a new case reaches **every** open map in **≤ 1 s** (the maximum over every map and every
one of :data:`NEW_CASES` cases filed :data:`CASE_GAP_S` apart through ``POST /api/v1/reports``,
from the moment its 201 arrived to the moment the map's client had read it; a case a map
never got counts as :data:`WINDOW_S`).

Set-up: a scratch database (the sample district, the taxonomy, :data:`STORED` open cases
seeded as :mod:`benchmarks.map` does) and ``shudi serve`` with one worker. The maps are
asyncio clients on plain sockets, one keep-alive connection each, all logged in as one
dispatcher (every map has the dispatcher's scope: one query per notice serves them all, the
case the design is for; a town coordinator's map is a scope of its own). *Pushed*: each map
opens the stream with ``since`` = a feed answer's cursor, as the page does after its full
load, and reads the events. *Polled* (the baseline, the page's fallback): each map asks
``/api/v1/cases/feed?since=<cursor>`` every 2 s, the maps' phases spread over the 2 s. The
clients run on the same machine as the server (their CPU is not counted, but it competes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
from sqlalchemy import Engine, text

from benchmarks.common import (
    Result,
    Section,
    Server,
    app_argv,
    code_version,
    database_url,
    free_port,
    log,
    server,
    shown,
)
from benchmarks.intake import (
    _machine_ticks,
    _tree_cpu,
    load_district,
    postmaster_pid,
    reportable_types,
    request_points,
    scratch_database,
    seed_cases,
    service_database,
)
from benchmarks.map import OPEN_MIX

MAPS = 200
STORED = 10_000
IDLE_S = 30.0
SETTLE_S = 3.0
OPEN_GAP_S = 0.02  # between two maps' openings: 200 maps in 4 s
NEW_CASES = 20
CASE_GAP_S = 0.5
WINDOW_S = 5.0  # how long after the last case the maps are still read
POLL_S = 2.0
REPORT_GIVE_UP_S = 15.0  # a report not filed by then is left out (and said)
TARGET_IDLE = 10.0  # % of one core
TARGET_DELIVERY_S = 1.0
USER, PASSWORD = "bench-live-dispatcher", "bench live dispatcher password"
STREAM, FEED = "/api/v1/cases/stream", "/api/v1/cases/feed"


@dataclass
class Map:
    """One open map's client: when each case id first reached it."""

    arrivals: dict[int, float] = field(default_factory=dict)
    ready: bool = False
    error: str | None = None
    refused: int = 0  # answers other than 200 after the first

    def take(self, body: bytes) -> None:
        now = time.perf_counter()
        for i in orjson.loads(body)["cases"]["id"]:
            self.arrivals.setdefault(int(i), now)


@dataclass
class Run:
    """One mode's figures."""

    mode: str
    idle_server_s: float = 0.0
    idle_pg_s: float = 0.0
    idle_machine_cores: float = 0.0
    delays: list[float] = field(default_factory=list)
    missed: int = 0
    unfiled: int = 0  # reports the server did not take within REPORT_GIVE_UP_S
    notes: list[str] = field(default_factory=list)

    @property
    def idle_pct(self) -> float:
        return (self.idle_server_s + self.idle_pg_s) / IDLE_S * 100

    def quantile(self, q: float) -> float:
        values = sorted(self.delays)
        return values[min(len(values) - 1, int(q * len(values)))] if values else WINDOW_S


def _request(host: str, path: str, token: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
    ).encode()


async def _stream_map(base: str, token: str, since: str, m: Map, stop: asyncio.Event) -> None:
    """Open the stream from ``since`` and read events until ``stop``."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=1 << 24)
    try:
        writer.write(_request(parts.netloc, f"{STREAM}?since={since}", token,
                              "Accept: text/event-stream\r\n"))  # fmt: skip
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            m.error = head.split(b"\r\n", 1)[0].decode()
            return
        m.ready = True
        buf = b""

        async def read() -> None:
            nonlocal buf
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    return
                buf += (await reader.readexactly(size + 2))[:-2]
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    for line in block.split(b"\n"):
                        if line.startswith(b"data: "):
                            m.take(line[6:])

        reading = asyncio.create_task(read())
        await asyncio.wait([reading, asyncio.create_task(stop.wait())],
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        reading.cancel()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        m.error = repr(exc)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _poll_map(
    base: str, token: str, since: str, m: Map, stop: asyncio.Event, phase: float
) -> None:
    """Ask the feed for changes every :data:`POLL_S` seconds until ``stop``."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=1 << 24)
    cursor = since
    try:
        await asyncio.sleep(phase)
        due = time.perf_counter()
        while not stop.is_set():
            writer.write(_request(parts.netloc, f"{FEED}?since={cursor}", token))
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            if b" 200 " in head.split(b"\r\n", 1)[0]:
                m.ready = True
                m.take(body)
                cursor = orjson.loads(body)["now"]
            elif not m.ready:
                m.error = head.split(b"\r\n", 1)[0].decode()
                return
            else:  # busy (503): asked again at the next turn, as the page does
                m.refused += 1
            due += POLL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, due - time.perf_counter()))
    except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
        m.error = repr(exc)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _measure(
    app: Server,
    pg_pid: int | None,
    run: Run,
    opener: Callable[[Map, asyncio.Event, int], Coroutine[Any, Any, None]],
    report: Callable[[int], Awaitable[int | None]],
    probe: Callable[[], list[str]],
) -> None:
    maps = [Map() for _ in range(MAPS)]
    stop = asyncio.Event()

    async def open_later(m: Map, k: int) -> None:
        await asyncio.sleep(k * OPEN_GAP_S)  # maps are opened over seconds, not all at once
        await opener(m, stop, k)

    tasks = [asyncio.create_task(open_later(m, k)) for k, m in enumerate(maps)]
    deadline = time.perf_counter() + 60
    while sum(m.ready for m in maps) < MAPS and time.perf_counter() < deadline:
        if any(m.error for m in maps):
            break
        await asyncio.sleep(0.1)
    errors = [m.error for m in maps if m.error]
    if errors:
        raise RuntimeError(f"{run.mode}: {len(errors)} map(s) failed, e.g. {errors[0]}")
    await asyncio.sleep(SETTLE_S)
    log(f"{run.mode}: {MAPS} maps open; idle for {IDLE_S:.0f} s")
    s0, p0, (b0, t0) = _tree_cpu(app.pid), _tree_cpu(pg_pid), _machine_ticks()
    await asyncio.sleep(IDLE_S)
    run.idle_server_s = _tree_cpu(app.pid) - s0
    run.idle_pg_s = _tree_cpu(pg_pid) - p0
    b1, t1 = _machine_ticks()
    run.idle_machine_cores = (b1 - b0) / (t1 - t0) * (os.cpu_count() or 1) if t1 > t0 else 0.0
    run.notes += await asyncio.to_thread(probe)
    log(f"{run.mode}: filing {NEW_CASES} cases {CASE_GAP_S} s apart")
    filed: dict[int, float] = {}
    for k in range(NEW_CASES):
        case_id = await report(k)
        if case_id is None:
            run.unfiled += 1
        else:
            filed[case_id] = time.perf_counter()
        await asyncio.sleep(CASE_GAP_S)
    await asyncio.sleep(WINDOW_S)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    refused = sum(m.refused for m in maps)
    if refused:
        run.notes.append(f"answers other than 200 to the maps meanwhile: {refused}")
    for case_id, at in filed.items():
        for m in maps:
            got = m.arrivals.get(case_id)
            if got is None:
                run.missed += 1
                run.delays.append(WINDOW_S)
            else:
                run.delays.append(max(0.0, got - at))
    if run.unfiled:
        run.notes.append(f"{run.unfiled} of {NEW_CASES} reports not filed within "
                         f"{REPORT_GIVE_UP_S:g} s (503s, time-outs): left out")  # fmt: skip
    if not run.delays:
        run.delays.append(WINDOW_S)  # nothing could be measured: counted as never


def _probe(engine: Engine, base: str) -> Callable[[], list[str]]:
    """What the server holds while the maps are open: its database connections, pool use."""

    def probe() -> list[str]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("""SELECT application_name, count(*) AS n,
                               count(*) FILTER (WHERE query ILIKE 'LISTEN%') AS listening
                        FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                        GROUP BY 1 ORDER BY 1""")
            ).all()
        try:
            metrics = httpx.get(f"{base}/metrics", timeout=30).text
        except httpx.HTTPError as exc:
            metrics = f"(/metrics did not answer: {exc!r})"
        wanted = ("shudi_db_pool_checked_out ", "shudi_live_streams ", "shudi_live_fetches_total ")
        lines = [ln for ln in metrics.splitlines() if ln.startswith((*wanted, "(/metrics"))]
        conns = ", ".join(f"{r.application_name or '?'} {r.n} ({r.listening} LISTEN)" for r in rows)
        return [f"database connections of the server meanwhile: {conns}; " + "; ".join(lines)]

    return probe


def commit_rates(engine: Engine, threads: int = 16, seconds: float = 3.0) -> dict[str, str]:
    """Commits/s of one-row case_file updates by ``threads`` threads (a pooled connection per
    transaction, as requests take them): announced as the store announces its writes, the
    same with a NOTIFY inside each writer's transaction (which PostgreSQL serialises: the
    design not taken), and neither; alternated twice, means."""
    from incidents.store import CHANGED
    from shudi.listen import announce

    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(text("SELECT id FROM case_file LIMIT 5000")).scalars()]
    update = text("UPDATE case_file SET version = version WHERE id = :i")

    def one(mode: str, stop: float, seed: int, counts: list[int]) -> None:
        rng = random.Random(seed)
        n = 0
        while time.perf_counter() < stop:
            with engine.begin() as conn:
                conn.execute(update, {"i": ids[rng.randrange(len(ids))]})
                if mode == "announced":
                    announce(conn, CHANGED)
                elif mode == "notify inside":
                    conn.execute(text(f"NOTIFY {CHANGED}"))
            n += 1
        counts.append(n)

    modes = ("announced", "notify inside", "neither")
    rates: dict[str, list[float]] = {m: [] for m in modes}
    for k in range(2):
        for mode in modes:
            counts: list[int] = []
            stop = time.perf_counter() + seconds
            pool = [threading.Thread(target=one, args=(mode, stop, 100 * k + j, counts))
                    for j in range(threads)]  # fmt: skip
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            rates[mode].append(sum(counts) / seconds)
    return {m: f"{statistics.mean(v):,.0f}" for m, v in rates.items()} | {
        "_announced": str(statistics.mean(rates["announced"])),
        "_neither": str(statistics.mean(rates["neither"])),
    }


def _results(sec: Section, push: Run, poll: Run) -> None:
    polled = f"the same {MAPS} maps polling every {POLL_S:g} s"
    sec.results += [
        Result(
            f"idle cost of {MAPS} open dispatch maps, pushed (server + PostgreSQL CPU)",
            push.idle_pct,
            "% of a core",
            "max",
            target=TARGET_IDLE,
            baseline=poll.idle_pct,
            baseline_name=polled,
        ),
        Result(
            f"a new case reaches every open map, pushed: max over {MAPS} maps × {NEW_CASES} cases",
            max(push.delays),
            "s",
            "max",
            target=TARGET_DELIVERY_S,
            baseline=max(poll.delays),
            baseline_name=polled,
        ),
        Result(
            "a new case reaches an open map, pushed: p99",
            push.quantile(0.99),
            "s",
            baseline=poll.quantile(0.99),
            baseline_name=polled,
        ),
        Result(
            "a new case reaches an open map, pushed: median",
            statistics.median(push.delays),
            "s",
            baseline=statistics.median(poll.delays),
            baseline_name=polled,
        ),
    ]
    for run in (push, poll):
        sec.notes.append(
            f"{run.mode}: idle {IDLE_S:.0f} s — server {run.idle_server_s:.2f} CPU-s, PostgreSQL "
            f"{run.idle_pg_s:.2f} CPU-s ({run.idle_pct:.1f} % of a core); whole machine "
            f"{run.idle_machine_cores:.2f} cores busy meanwhile (this run's clients and anything "
            f"else); deliveries p50 {statistics.median(run.delays):.3f} s, p99 "
            f"{run.quantile(0.99):.3f} s, max {max(run.delays):.3f} s; missed {run.missed} of "
            f"{len(run.delays)} (counted as {WINDOW_S:g} s)"
        )
        sec.notes += [f"{run.mode}: {n}" for n in run.notes]


def live(workdir: Path) -> Section:
    """Idle cost and delivery time of 200 open dispatch maps, pushed beside polled."""
    from accounts.service import create_user
    from shudi.database import make_engine

    sec = Section(f"Live map pushed (`{STREAM}`, {MAPS} open dispatch maps)")
    sec.notes.append(f"code {code_version()}")
    with contextlib.suppress(OSError):
        sec.notes.append("load average at the start: " + " ".join(
            f"{x:.2f}" for x in os.getloadavg()))  # fmt: skip
    port = free_port()
    sec.commands.append(shown(app_argv("PORT")) + "   # on the scratch database")
    with scratch_database(database_url()) as url:
        engine = make_engine(url)
        try:
            log("scratch: sample district, taxonomy, dispatcher")
            load_district(engine)
            with engine.begin() as conn:
                create_user(conn, username=USER, password=PASSWORD, role="dispatcher")
            sec.notes.append(seed_cases(engine, STORED, 100, seed=17, mix=OPEN_MIX))
            log("commits of case writes: announced, notifying inside, neither")
            rates = commit_rates(engine)
            points, types = request_points(engine), reportable_types(engine)
            pg_pid = postmaster_pid(engine)
            with (
                service_database(url),
                server("shudi serve", app_argv(port), port, workdir / "live.log") as app,
            ):
                runs = asyncio.run(_both(app, pg_pid, engine, points, types))
        finally:
            engine.dispose()
    _results(sec, *runs)
    sec.results.append(
        Result(
            "one-row case_file updates committed per second, 16 threads, announced",
            float(rates["_announced"]),
            "commits/s",
            baseline=float(rates["_neither"]),
            baseline_name="the same not announced",
        )
    )
    sec.notes.append(
        "case writes committed per second, 16 threads: announced after commit (the store's "
        f"way) {rates['announced']}, with a NOTIFY inside each writer's transaction "
        f"{rates['notify inside']} (PostgreSQL serialises notifying commits through their WAL "
        f"flush: the design not taken), neither {rates['neither']}"
    )
    return sec


async def _both(
    app: Server, pg_pid: int | None, engine: Engine, points: np.ndarray, types: list[str]
) -> tuple[Run, Run]:
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
        r = await client.post("/api/v1/auth/token", data={"username": USER, "password": PASSWORD})
        r.raise_for_status()
        token = str(r.json()["access_token"])
        rng = random.Random(17)

        async def cursor() -> str:
            got = await client.get(FEED, headers={"Authorization": f"Bearer {token}"})
            got.raise_for_status()
            return str(got.json()["now"])

        busy: dict[str, int] = {}

        async def report(k: int) -> int | None:
            x, y = points[rng.randrange(len(points))]
            body = {"lon": float(x), "lat": float(y), "type": types[k % len(types)]}
            key = uuid.uuid4().hex
            give_up = time.perf_counter() + REPORT_GIVE_UP_S
            while True:  # a busy server (503, time-out) is asked again, same key
                try:
                    got = await client.post("/api/v1/reports", json=body,
                                            headers={"Idempotency-Key": key},
                                            timeout=REPORT_GIVE_UP_S)  # fmt: skip
                    if got.status_code == 201:
                        return int(got.json()["id"])
                    if got.status_code != 503:
                        raise RuntimeError(f"report answered {got.status_code}: {got.text[:200]}")
                except httpx.TimeoutException:
                    pass
                busy[mode] = busy.get(mode, 0) + 1
                if time.perf_counter() > give_up:
                    return None  # not filed: the server is overwhelmed
                await asyncio.sleep(0.2)

        probe = _probe(engine, app.url)
        push, poll = Run("pushed"), Run("polled")
        mode = push.mode
        since = await cursor()
        await _measure(app, pg_pid, push,
                       lambda m, stop, k: _stream_map(app.url, token, since, m, stop),
                       report, probe)  # fmt: skip
        log(f"pushed: idle {push.idle_pct:.1f} % of a core; delivery max {max(push.delays):.3f} s")
        mode = poll.mode
        since = await cursor()
        await _measure(app, pg_pid, poll,
                       lambda m, stop, k: _poll_map(app.url, token, since, m, stop,
                                                    POLL_S * k / MAPS),
                       report, probe)  # fmt: skip
        log(f"polled: idle {poll.idle_pct:.1f} % of a core; delivery max {max(poll.delays):.3f} s")
        for run in (push, poll):
            if busy.get(run.mode):
                run.notes.append(f"reports refused (503, time-out), sent again: {busy[run.mode]}")
        return push, poll
