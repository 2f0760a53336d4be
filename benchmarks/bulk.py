"""The bulk re-resolve of 1,000,000 stored cases, on the path the product runs on activation.

In a scratch database holding the sample district, 1,000,000 open cases at random points of
the district's extent are stored in ``case_file`` as the product stores cases (its columns,
indexes and trigger; no special fillfactor). Then, each timed with its commit:

1. set-up, shown for information: :func:`jurisdictions.bulk.reresolve_table` over
   ``case_file`` gives every case inside the district its owners (every such row written);
2. :func:`jurisdictions.generations.activate` of a new generation of the same communities:
   every open case is re-resolved and nothing moves (no row written);
3. ``activate`` of a revision that re-codes one community (the sample's first): the cases
   there move, are re-routed and get their ``boundary_change`` events; no other row is
   written.

Both activations carry the target (≤ 10 s). The baseline, in the same run, is the bare
polygons-outer join of the open cases with every active layer's subdivided parts (the
spatial join alone: no owners, routing or writes).
"""

from __future__ import annotations

import os
import statistics
import time

from sqlalchemy import Engine, create_engine, text

from benchmarks.activation import BARE_JOIN, FILL
from benchmarks.common import Result, Section, StatementTimer, database_url, district_bbox, log
from shudi.migrate import scratch_database

#: Open cases (``SHUDI_BENCH_BULK_CASES`` overrides, e.g. for a small run).
BULK_CASES = 1_000_000
TARGET_S = 10.0
RECODE = 0  # the revision re-codes the sample's first community (row 0 of its file)


def _timed(engine: Engine, what: str, run: object) -> tuple[float, object, list[str]]:
    with StatementTimer(engine) as timer:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            out = run(conn)  # type: ignore[operator]
        elapsed = time.perf_counter() - t0
    log(f"{what}: {elapsed:.1f} s")
    return elapsed, out, timer.lines(elapsed)


def _maintain(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE case_file"))
        conn.execute(text("CHECKPOINT"))


def _bare(engine: Engine) -> tuple[float, int]:
    t0 = time.perf_counter()
    with engine.connect() as conn:
        hits = int(conn.execute(text(BARE_JOIN)).scalar_one())
    return time.perf_counter() - t0, hits


def bulk(n: int | None = None) -> Section:
    """Time the product's re-resolve over ``n`` stored open cases (see the module)."""
    n = n or int(os.environ.get("SHUDI_BENCH_BULK_CASES", BULK_CASES))
    from console.demo import SAMPLE_DIR, load_sample_district
    from gis.io import read_boundaries
    from jurisdictions.bulk import reresolve_table
    from jurisdictions.generations import activate, import_layer

    sec = Section(f"Bulk re-resolve of {n:,} stored cases on a boundary activation (`activate`)")
    with scratch_database(database_url(), prefix="shudi_bench_bulk") as url:
        engine = create_engine(url)  # no statement timeout: the fill takes minutes
        try:
            log(f"scratch database: sample district and {n:,} open cases")
            with engine.begin() as conn:
                load_sample_district(conn, note=lambda _m: None)
            bbox = district_bbox(engine)
            t0 = time.perf_counter()
            with engine.begin() as conn:
                for statement in FILL.split(";"):
                    if statement.strip():
                        conn.execute(text(statement), {"n": n, **bbox.__dict__})
                same = read_boundaries(SAMPLE_DIR / "communities.geojson")
                revised = same.copy()
                recoded = revised.index == RECODE
                revised.loc[recoded, "code"] = revised.loc[recoded, "code"] + "R"
                gens = [
                    import_layer(conn, gdf=g, layer="community", source=f"bench:{k}").generation_id
                    for k, g in (("same", same), ("revised", revised))
                ]
            fill = time.perf_counter() - t0
            _maintain(engine)
            bares = [_bare(engine)]
            first, done, split = _timed(
                engine, "owners for every case", lambda c: reresolve_table(c, table="case_file")
            )
            sec.notes.append(
                f"set-up: {n:,} cases stored in {fill:.0f} s; `reresolve_table(conn, "
                f"table='case_file')` gave {done.changed:,} of {done.points:,} cases "  # type: ignore[attr-defined]
                f"their owners in {first:.1f} s (every such row written): " + "; ".join(split)
            )
            _maintain(engine)  # what autovacuum does after a million updated rows
            bares.append(_bare(engine))
            runs = []
            plan = (("nothing moves", gens[0]), ("one community re-coded", gens[1]))
            for label, gen in plan:
                elapsed, act, split = _timed(
                    engine, label, lambda c, g=gen: activate(c, generation_id=g)
                )
                runs.append((label, elapsed, act))
                sec.notes.append(
                    f"{label}: {act.moved:,} of {act.open_cases:,} open cases moved in "  # type: ignore[attr-defined]
                    f"{elapsed:.1f} s (with commit): " + "; ".join(split)
                )
                bares.append(_bare(engine))
        finally:
            engine.dispose()
    bare = statistics.median(t for t, _ in bares)
    name = "bare join, open cases × every active layer's parts"
    (_, still_t, still), (_, moved_t, moved) = runs
    if still.moved != 0 or not 0 < moved.moved < moved.open_cases:  # type: ignore[attr-defined]
        sec.notes.append(
            f"UNEXPECTED: the same communities moved {still.moved:,} cases, "  # type: ignore[attr-defined]
            f"the revision {moved.moved:,}"  # type: ignore[attr-defined]
        )
    sec.results += [
        Result(
            f"activation over {n:,} open cases, nothing moves",
            still_t,
            "s",
            "max",
            target=TARGET_S,
            baseline=bare,
            baseline_name=name,
        ),
        Result(
            f"activation over {n:,} open cases, {moved.moved:,} move "  # type: ignore[attr-defined]
            f"(one community re-coded)",
            moved_t,
            "s",
            "max",
            target=TARGET_S,
            baseline=bare,
            baseline_name=name,
        ),
        Result(
            f"set-up: owners for every case, {done.changed:,} rows written",  # type: ignore[attr-defined]
            first,
            "s",
            baseline=bare,
            baseline_name=name,
        ),
    ]
    sec.notes.append(
        f"bare join per run: {', '.join(f'{t:.2f}' for t, _ in bares)} s "
        f"({bares[0][1]:,} (case, area part) hits)"
    )
    sec.commands += [
        " ".join(FILL.split()),
        "reresolve_table(conn, table='case_file'); then generations.activate(conn, "
        "generation_id=...) of the same communities, then of the revision; each in "
        "`with engine.begin() as conn`",
        " ".join(BARE_JOIN.split()),
    ]
    return sec
