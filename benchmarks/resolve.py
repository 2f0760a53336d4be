"""The resolver's three product targets on the sample district, each beside a baseline.

1. ``GET /api/v1/resolve``: p99 at a fixed 300 req/s (open loop) and throughput with 8
   clients against a one-query FastAPI app over the same PostGIS.
2. ``POST /api/v1/resolve/batch``: points/s for 10,000-point batches against shapely's STRtree,
   and a point outside the district against one inside.
3. The bulk re-resolve of 1,000,000 stored cases on activation: :mod:`benchmarks.bulk`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import numpy as np
import orjson
from sqlalchemy import Engine

from benchmarks import baselines, loadgen
from benchmarks.common import (
    BBox,
    Result,
    Section,
    Server,
    StatementTimer,
    app_argv,
    baseline_argv,
    free_port,
    log,
    server,
    shown,
)

RATE = 300  # requests per second of the latency target
RATE_SECONDS = 10  # per open-loop round
PACED_ROUNDS = 3  # app, baseline, app, …: the median round's p99 is held against the target
ROUNDS = 2  # closed-loop rounds, interleaved the same way
CLIENTS = 8
THROUGHPUT_SECONDS = 10
BATCH_POINTS = 10_000
BATCH_CALLS = 6
BATCH_TARGET = 300_000  # points/s through HTTP (issue 17)
SIDE_CALLS = 3  # calls of points all inside, and all outside
OUTSIDE_RATIO = 10.0  # a point outside may cost at most this many times a point inside
PATH = "/api/v1/resolve"


def _load_note(who: str, r: loadgen.LoadResult) -> str:
    return (
        f"{who}: {r.requests} requests in {r.seconds:.1f} s ({r.rate:.0f}/s), "
        f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms, "
        f"{r.non_2xx / max(r.requests, 1):.0%} non-2xx (points outside the district → 422), "
        f"{r.errors} errors, {r.late_sends} sends >1 ms late, "
        f"server CPU {r.server_ms_per_request:.2f} ms/request, client CPU {r.client_cpu_s:.1f} s"
    )


def _measured(srv: Server, run: Callable[[], loadgen.LoadResult]) -> loadgen.LoadResult:
    """Run a load against ``srv`` and record the server process's CPU time meanwhile."""
    cpu0 = srv.cpu_seconds()
    result = run()
    result.server_cpu_s = srv.cpu_seconds() - cpu0
    return result


def single_point(bbox: BBox, workdir: Path) -> Section:
    """Target 1: latency at a fixed rate, and throughput with 8 clients."""
    sec = Section("Single-point resolve over HTTP (`GET /api/v1/resolve`)")
    wrk = loadgen.ensure_wrk()
    script = loadgen.write_lua(bbox, PATH, seed=7, directory=loadgen.lua_dir())
    paced = [bbox.random_points(RATE * RATE_SECONDS, seed=1 + k) for k in range(PACED_ROUNDS)]
    app_port, base_port = free_port(), free_port()
    sec.commands += [shown(app_argv("PORT")), shown(baseline_argv("PORT2"))]
    paced_runs: dict[str, list[loadgen.LoadResult]] = {"app": [], "base": []}
    closed_runs: dict[str, list[loadgen.LoadResult]] = {"app": [], "base": []}
    with (
        server("shudi serve", app_argv(app_port), app_port, workdir / "app.log") as app,
        server(
            "baseline app", baseline_argv(base_port), base_port, workdir / "baseline.log"
        ) as base,
    ):
        servers = {"app": app, "base": base}
        for srv in servers.values():  # warm the pools, caches and the interpreter alike
            loadgen.open_loop(srv.url, PATH, bbox.random_points(1500, seed=99), rate=500)
        for k in range(PACED_ROUNDS):
            for who, srv in servers.items():
                log(f"open loop {RATE}/s for {RATE_SECONDS} s: {who}")
                run = partial(loadgen.open_loop, srv.url, PATH, paced[k], rate=RATE)
                paced_runs[who].append(_measured(srv, run))
        for _ in range(ROUNDS):
            for who, srv in servers.items():
                log(f"closed loop, {CLIENTS} clients, {THROUGHPUT_SECONDS} s: {who}")
                if wrk:
                    closed = partial(
                        loadgen.wrk_closed_loop, wrk, srv.url, script, CLIENTS, THROUGHPUT_SECONDS
                    )
                else:
                    closed = partial(
                        loadgen.python_closed_loop,
                        srv.url,
                        PATH,
                        paced[0],
                        CLIENTS,
                        THROUGHPUT_SECONDS,
                    )
                closed_runs[who].append(_measured(srv, closed))
    sec.commands.append(
        f"python open-loop client (benchmarks/loadgen.py): {PACED_ROUNDS} rounds of "
        f"{RATE * RATE_SECONDS}"
        f" GETs of random points at {RATE}/s per server, up to 64 keep-alive connections"
    )
    if wrk:
        cmd = loadgen.wrk_command(
            wrk, "http://127.0.0.1:PORT", Path("random_points.lua"), CLIENTS, THROUGHPUT_SECONDS
        )
        sec.commands.append(" ".join(cmd) + "   # once per server and round")
        sec.code.append(
            ("random_points.lua (generated by benchmarks/loadgen.py)", "lua", script.read_text())
        )
    else:
        sec.notes.append("wrk could not be installed: throughput used the Python client.")
    app_paced, base_paced = loadgen.merge(paced_runs["app"]), loadgen.merge(paced_runs["base"])
    app_p99 = statistics.median(r.p99_ms for r in paced_runs["app"])
    base_p99 = statistics.median(r.p99_ms for r in paced_runs["base"])
    app_tp = statistics.mean(r.rate for r in closed_runs["app"])
    base_tp = statistics.mean(r.rate for r in closed_runs["base"])
    same = "one-query app, same load"
    sec.results += [
        Result(
            "p99 latency at 300 req/s (open loop, median round)",
            app_p99,
            "ms",
            "max",
            target=15,
            baseline=base_p99,
            baseline_name=same,
        ),
        Result(
            "p50 latency at 300 req/s (open loop)",
            app_paced.p50_ms,
            "ms",
            baseline=base_paced.p50_ms,
            baseline_name=same,
        ),
        Result(
            f"throughput, {CLIENTS} concurrent clients",
            app_tp,
            "req/s",
            "min",
            target_ratio=0.5,
            baseline=base_tp,
            baseline_name="one-query app",
        ),
        Result(
            f"p99 latency at {CLIENTS} clients (closed loop)",
            statistics.mean(r.p99_ms for r in closed_runs["app"]),
            "ms",
            baseline=statistics.mean(r.p99_ms for r in closed_runs["base"]),
            baseline_name="one-query app",
        ),
        Result(
            "server CPU per request at 8 clients",
            statistics.mean(r.server_ms_per_request for r in closed_runs["app"]),
            "ms",
            baseline=statistics.mean(r.server_ms_per_request for r in closed_runs["base"]),
            baseline_name="one-query app",
        ),
    ]
    sec.notes += [
        _load_note("open loop, shudi, all rounds pooled", app_paced),
        _load_note("open loop, baseline, all rounds pooled", base_paced),
        "open loop p99 per round — shudi: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in paced_runs["app"])
        + " ms; baseline: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in paced_runs["base"])
        + " ms",
    ]
    for i, (a, b) in enumerate(zip(closed_runs["app"], closed_runs["base"], strict=True)):
        sec.notes.append(
            f"closed loop round {i + 1}: shudi {a.rate:.0f} req/s "
            f"({a.non_2xx / max(a.requests, 1):.0%} non-2xx), server process "
            f"{a.server_cpu_s / a.seconds:.0%} of a core, "
            f"{a.server_ms_per_request:.2f} ms CPU/req; "
            f"baseline {b.rate:.0f} req/s, {b.server_cpu_s / b.seconds:.0%} of a core, "
            f"{b.server_ms_per_request:.2f} ms CPU/req"
        )
    return sec


def _timed_calls(client: httpx.Client, bodies: list[bytes]) -> tuple[list[float], int]:
    """Seconds per call of the batch endpoint, and how many points were answered with an
    error (outside the district)."""
    times: list[float] = []
    outside = 0
    for body in bodies:
        t0 = time.perf_counter()
        resp = client.post("/api/v1/resolve/batch", content=body)
        elapsed = time.perf_counter() - t0
        resp.raise_for_status()
        results = orjson.loads(resp.content)["results"]
        if len(results) != BATCH_POINTS:
            raise RuntimeError(f"batch answered {len(results)} results")
        times.append(elapsed)
        outside += sum(1 for r in results if "error" in r)
    return times, outside


def _split_sets(client: httpx.Client, bbox: BBox) -> tuple[np.ndarray, np.ndarray]:
    """Points of the district's extent the service puts inside, and those it puts outside."""
    pts = bbox.random_points(4 * BATCH_POINTS, seed=300)
    inside = []
    for chunk in np.array_split(pts, 4):
        body = orjson.dumps({"points": chunk.tolist()}, option=orjson.OPT_SERIALIZE_NUMPY)
        results = orjson.loads(client.post("/api/v1/resolve/batch", content=body).content)
        inside += ["error" not in r for r in results["results"]]
    mask = np.array(inside)
    return pts[mask], pts[~mask]


def batch(engine: Engine, bbox: BBox, workdir: Path) -> Section:
    """Target 2: points/s of the batch endpoint, beside an in-process STRtree; and what a
    point outside the district costs beside one inside."""
    sec = Section("Batch resolve (`POST /api/v1/resolve/batch`, 10,000 points a call)")
    sets = [bbox.random_points(BATCH_POINTS, seed=100 + i) for i in range(BATCH_CALLS + 1)]
    bodies = [orjson.dumps({"points": s.tolist(), "crs": "wgs84"}) for s in sets]
    port = free_port()
    rng = np.random.default_rng(400)
    with (
        server("shudi serve", app_argv(port), port, workdir / "app-batch.log") as app,
        httpx.Client(
            base_url=app.url, timeout=120, headers={"content-type": "application/json"}
        ) as client,
    ):
        _timed_calls(client, bodies[:1])  # warm-up
        times, outside = _timed_calls(client, bodies[1:])
        inner, outer = _split_sets(client, bbox)
        only: dict[str, list[float]] = {}
        for label, pool in (("inside", inner), ("outside", outer)):
            picks = [pool[rng.integers(0, len(pool), BATCH_POINTS)] for _ in range(SIDE_CALLS)]
            only[label] = _timed_calls(
                client, [orjson.dumps({"points": p.tolist()}) for p in picks]
            )[0]
    rate = BATCH_POINTS * len(times) / sum(times)
    polys = baselines.active_polygons(engine)
    within, driven = baselines.strtree_rate(polys, sets[1:])
    per_point = {k: statistics.median(v) / BATCH_POINTS * 1e6 for k, v in only.items()}
    sec.commands.append(
        f"{len(times)} timed calls (+1 warm-up) of POST /api/v1/resolve/batch, "
        f"{BATCH_POINTS:,} random points each, one after another (httpx); then "
        f"{SIDE_CALLS} calls of points all inside and {SIDE_CALLS} of points all outside"
    )
    sec.results += [
        Result(
            "batch throughput",
            rate,
            "points/s",
            "min",
            target=BATCH_TARGET,
            baseline=max(within, driven),
            baseline_name="shapely STRtree in-process",
        ),
        Result(
            "batch time per point outside the district (all 10,000 outside)",
            per_point["outside"],
            "µs",
            "max",
            target_ratio=OUTSIDE_RATIO,
            baseline=per_point["inside"],
            baseline_name="per point inside (all 10,000 inside), same server",
        ),
        Result("STRtree points-driven `within`", within, "points/s"),
        Result("STRtree polygon-driven `covers`", driven, "points/s"),
    ]
    sec.notes += [
        f"per call: {', '.join(f'{t * 1000:.0f}' for t in times)} ms; "
        f"{outside / (BATCH_POINTS * len(times)):.0%} of the points are outside "
        "the district (answered with an error naming the nearest town)",
        "all inside, per call: " + ", ".join(f"{t * 1000:.0f}" for t in only["inside"]) + " ms; "
        "all outside (the part of the district's extent that no town covers), per call: "
        + ", ".join(f"{t * 1000:.0f}" for t in only["outside"])
        + " ms",
        f"STRtree over {len(polys)} active town, community and property-area polygons",
    ]
    sec.notes += _batch_breakdown(engine, sets[1])
    return sec


def _batch_breakdown(engine: Engine, pts: np.ndarray) -> list[str]:
    """Where one batch's time goes in-process (no HTTP): the body's parse, the endpoint's
    function (with its SQL statements) and the answer's compression, each the best of 3."""
    from jurisdictions.answer_gzip import gzip_answer
    from jurisdictions.batch import resolve_batch_json
    from jurisdictions.batch_body import parse_batch

    body = orjson.dumps({"points": pts.tolist(), "crs": "wgs84"})

    def best(work: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            work()
            times.append(time.perf_counter() - t0)
        return min(times)

    parse = best(lambda: parse_batch(body))
    points = parse_batch(body).points
    with engine.connect() as conn:
        answer = resolve_batch_json(conn, points=points)  # warm
        total = best(lambda: resolve_batch_json(conn, points=points))
        with StatementTimer(engine) as timer:
            t0 = time.perf_counter()
            resolve_batch_json(conn, points=points)
            once = time.perf_counter() - t0
        conn.rollback()
    gzip = best(lambda: gzip_answer(answer))
    return [
        f"in-process, one batch (best of 3): body parsed (`parse_batch`) {parse * 1000:,.1f} ms; "
        f"`resolve_batch_json` {total * 1000:,.1f} ms ({len(pts) / total:,.0f} points/s, "
        f"{len(answer) / 1e6:.1f} MB of JSON); gzip of the answer {gzip * 1000:,.1f} ms "
        f"({len(gzip_answer(answer)) / 1e6:.2f} MB); statements of one call: "
        + "; ".join(timer.lines(once))
    ]
