"""Place search: ``GET /api/v1/places`` p99 at a fixed 100 req/s (target ≤ 50 ms), beside a
bare ``GET /api/v1/resolve`` at the same rate on the same server, in the same run; and the
search's SQL with and without the ``place`` indexes (migration 0015), in-process.

Queries are drawn from the names in the ``place`` table (sample district + gazetteer), as
people type them: whole names, their first characters, full pinyin, pinyin prefixes, initials
and initials prefixes of 1–4 letters (the most expensive: ``t`` matches hundreds of names).
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine, text

from benchmarks import loadgen
from benchmarks.common import BBox, Result, Section, app_argv, free_port, log, server, shown
from places import search
from places.pinyin import romanise

RATE = 100
SECONDS = 10
ROUNDS = 3
TARGET_MS = 50
SQL_QUERIES = 400


def queries(engine: Engine, n: int, seed: int) -> list[str]:
    """``n`` searches as people type them, drawn from the stored names."""
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM place ORDER BY id"))]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = rng.choice(names)
        r = romanise(name)
        forms = [
            name,
            name[: rng.randint(1, max(1, min(3, len(name))))],
            r.pinyin,
            r.pinyin[: rng.randint(2, max(2, min(8, len(r.pinyin))))],
            r.initials,
            r.initials[: rng.randint(1, max(1, min(4, len(r.initials))))],
        ]
        out.append(rng.choice(forms))
    return out


def _paths(qs: list[str]) -> list[str]:
    return ["/api/v1/places?" + urlencode({"q": q, "limit": 8}) for q in qs]


def _resolve_paths(bbox: BBox, n: int, seed: int) -> list[str]:
    return [
        f"/api/v1/resolve?lon={x:.7f}&lat={y:.7f}&crs=wgs84"
        for x, y in bbox.random_points(n, seed=seed)
    ]


def _sql_ms(engine: Engine, qs: list[str], indexes: bool) -> tuple[float, float]:
    """Mean and p99 ms of :func:`places.search.search` in-process, with or without indexes."""
    times = []
    with engine.connect() as conn:
        if not indexes:
            conn.execute(text("SET enable_indexscan = off; SET enable_bitmapscan = off"))
        search.search(conn, q="warm", limit=8)
        for q in qs:
            t0 = time.perf_counter()
            search.search(conn, q=q, limit=8)
            times.append((time.perf_counter() - t0) * 1000)
        conn.rollback()
    times.sort()
    return statistics.mean(times), times[int(len(times) * 0.99) - 1]


def place_search(engine: Engine, bbox: BBox, workdir: Path) -> Section:
    sec = Section("Place search (`GET /api/v1/places`)")
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM place")).scalar_one()
    port = free_port()
    sec.commands.append(shown(app_argv("PORT")))
    runs: dict[str, list[loadgen.LoadResult]] = {"places": [], "resolve": []}
    with server("shudi serve", app_argv(port), port, workdir / "places.log") as app:
        loadgen.open_loop_paths(app.url, _paths(queries(engine, 500, 99)), rate=200)
        loadgen.open_loop_paths(app.url, _resolve_paths(bbox, 500, 99), rate=200)
        for k in range(ROUNDS):
            log(f"open loop {RATE}/s for {SECONDS} s: places, then resolve (round {k + 1})")
            qs = _paths(queries(engine, RATE * SECONDS, seed=k))
            runs["places"].append(loadgen.open_loop_paths(app.url, qs, rate=RATE))
            rs = _resolve_paths(bbox, RATE * SECONDS, seed=k)
            runs["resolve"].append(loadgen.open_loop_paths(app.url, rs, rate=RATE))
    p99 = statistics.median(r.p99_ms for r in runs["places"])
    base99 = statistics.median(r.p99_ms for r in runs["resolve"])
    pooled = loadgen.merge(runs["places"])
    base = loadgen.merge(runs["resolve"])
    same = "bare resolve, same server and rate"
    sec.results += [
        Result(f"p99 latency at {RATE} req/s (open loop, median round)", p99, "ms", "max",
               target=TARGET_MS, baseline=base99, baseline_name=same),
        Result(f"p50 latency at {RATE} req/s (open loop)", pooled.p50_ms, "ms",
               baseline=base.p50_ms, baseline_name=same),
    ]  # fmt: skip
    qs = queries(engine, SQL_QUERIES, seed=42)
    with_mean, with_p99 = _sql_ms(engine, qs, indexes=True)
    without_mean, without_p99 = _sql_ms(engine, qs, indexes=False)
    sec.results += [
        Result("search SQL, mean (in-process, indexes of 0015)", with_mean, "ms",
               baseline=without_mean, baseline_name="same queries, index scans off"),
        Result("search SQL, p99 (in-process, indexes of 0015)", with_p99, "ms",
               baseline=without_p99, baseline_name="same queries, index scans off"),
    ]  # fmt: skip
    sec.notes += [
        f"{count} searchable places (sample district: estates, communities, towns; its "
        "generated gazetteer: roads, addresses, POIs).",
        f"open loop, {ROUNDS} rounds of {RATE * SECONDS} requests per endpoint, alternating; "
        "p99 per round — places: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in runs["places"])
        + " ms; resolve: "
        + ", ".join(f"{r.p99_ms:.1f}" for r in runs["resolve"])
        + " ms",
        f"places pooled: {pooled.requests} requests, {pooled.non_2xx} non-2xx, "
        f"{pooled.errors} errors, max {pooled.max_ms:.1f} ms",
        "queries: whole names, their first 1–3 characters, full pinyin, pinyin prefixes of 2–8 "
        "letters, initials and initials prefixes of 1–4 letters, drawn from the stored names "
        "(seeded); limit 8.",
    ]
    return sec
