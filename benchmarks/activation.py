"""The product's re-resolve on a boundary activation, timed as the product runs it.

:func:`jurisdictions.generations.activate` — the one way a generation becomes active (``shudi
boundaries import --activate``, ``shudi boundaries activate``, the sample loader) — over N open
cases in a scratch database holding the sample district: the bulk in-database re-resolve of the
open cases (:func:`jurisdictions.bulk.owners`, over the partial GiST index of open cases), the
routing of each distinct (areas, type) pair, one UPDATE of the changed cases and one INSERT of
their ``boundary_change`` events, with the commit.

First run: the cases were stored without owners, so every case inside the district moves.
Second run: the previous community generation (the same polygons) is activated back, so
nothing moves. The baseline is the bare polygons-outer join of the open cases with every active
layer's subdivided parts (the spatial join alone, no owners, routing or writes).
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Engine, text

from benchmarks.common import Result, Section, StatementTimer, district_bbox, log
from shudi.database import database_url, make_engine
from shudi.migrate import scratch_database

#: Open cases of the run (``SHUDI_BENCH_ACTIVATION_CASES`` overrides, e.g. for a small run).
ACTIVATION_CASES = 100_000

#: N open cases at random points of the district, stored without owners.
FILL = """
SELECT setseed(0.24);
INSERT INTO case_file (tracking_code, type_code, scope, status, channel, input_crs, lon, lat,
                       geom, handler_party, routing, generations)
SELECT 'BENCH' || lpad(g::text, 10, '0'), t.code, t.scope,
       (ARRAY['reported', 'accepted', 'dispatched', 'in_progress'])[1 + g % 4], 'phone', 'wgs84',
       p.x, p.y, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326), t.agency, '{}', '{}'
FROM generate_series(1, :n) g
CROSS JOIN LATERAL (SELECT :xmin + random() * (:xmax - :xmin) + 0 * g AS x,
                           :ymin + random() * (:ymax - :ymin) AS y) p  -- per g, not once
JOIN (SELECT row_number() OVER (ORDER BY code) - 1 AS k, code, scope, agency
      FROM violation_type WHERE reportable AND active) t ON t.k = g % 40  -- the (g % 40)-th type
"""

BARE_JOIN = """
SELECT count(*) FROM boundary_part b
JOIN generation_period gp ON gp.generation_id = b.generation_id AND gp.valid_to IS NULL
CROSS JOIN LATERAL (SELECT c.id FROM case_file c WHERE ST_Covers(b.geom, c.geom)
                    AND c.status NOT IN ('closed', 'rejected') OFFSET 0) pt
"""


def _timed_activation(engine: Engine, generation_id: int) -> tuple[float, int, int, list[str]]:
    from jurisdictions.generations import activate

    with StatementTimer(engine) as timer:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            done = activate(conn, generation_id=generation_id)
        elapsed = time.perf_counter() - t0
    return elapsed, done.open_cases, done.moved, timer.lines(elapsed)


def activation(n: int | None = None) -> Section:
    """Time ``generations.activate`` over ``n`` open cases, twice (everything / nothing moves)."""
    n = n or int(os.environ.get("SHUDI_BENCH_ACTIVATION_CASES", ACTIVATION_CASES))
    from console.demo import SAMPLE_DIR, load_sample_district
    from jurisdictions.generations import import_and_activate

    sec = Section(f"Re-resolve of {n:,} open cases on a boundary activation (`activate`)")
    with scratch_database(database_url(), prefix="shudi_bench_activation") as url:
        engine = make_engine(url)
        try:
            log(f"scratch database: sample district and {n:,} open cases without owners")
            with engine.begin() as conn:
                load_sample_district(conn, note=lambda _m: None)
                old = conn.execute(
                    text("""SELECT generation_id FROM generation_period
                            WHERE layer = 'community' AND valid_to IS NULL""")
                ).scalar_one()
            bbox = district_bbox(engine)
            with engine.begin() as conn:
                for statement in FILL.split(";"):
                    if statement.strip():
                        conn.execute(text(statement), {"n": n, **bbox.__dict__})
                new = import_and_activate(
                    conn, path=SAMPLE_DIR / "communities.geojson", layer="community",
                    activate=False, source="bench:activation",
                ).generation_id  # fmt: skip
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE case_file"))
                conn.execute(text("CHECKPOINT"))
            t0 = time.perf_counter()
            with engine.connect() as conn:
                inside = conn.execute(text(BARE_JOIN)).scalar_one()
            bare = time.perf_counter() - t0
            runs = []
            for label, gen in (("every case moves", new), ("nothing moves", old)):
                log(f"activate generation {gen}: {label}")
                elapsed, looked, moved, split = _timed_activation(engine, gen)
                runs.append((label, elapsed, looked, moved))
                sec.notes.append(
                    f"{label}: {moved:,} of {looked:,} open cases moved in {elapsed:.1f} s "
                    "(with commit): " + "; ".join(split)
                )
        finally:
            engine.dispose()
    (_, first, looked, moved), (_, second, _, still) = runs
    if moved == 0 or still != 0:
        sec.notes.append(f"UNEXPECTED: first run moved {moved:,}, second {still:,}")
    name = "bare join, open cases × active parts"
    sec.results += [
        Result(
            f"activation, {looked:,} open cases, every one moves",
            first,
            "s",
            baseline=bare,
            baseline_name=name,
        ),
        Result("activation, nothing moves", second, "s", baseline=bare, baseline_name=name),
    ]
    sec.notes.append(f"bare join: {inside:,} (case, area part) hits, {bare:.2f} s")
    sec.commands += [
        " ".join(FILL.split()),
        "generations.activate(conn, generation_id=...) in `with engine.begin() as conn`: "
        "a new generation of the sample's communities, then the previous one back",
        " ".join(BARE_JOIN.split()),
    ]
    return sec
