"""Baselines and fixtures of :mod:`benchmarks.resolve`: STRtree, the bare join, bench_points."""

from __future__ import annotations

import time

import numpy as np
import shapely
from sqlalchemy import Engine, text

from benchmarks.common import BBox, StatementTimer


def active_polygons(engine: Engine) -> list[shapely.Geometry]:
    """The active town, community and property-area polygons, as shapely geometries."""
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text("""
            SELECT ST_AsBinary(b.geom) FROM boundary b
            JOIN generation_period p ON p.generation_id = b.generation_id AND p.valid_to IS NULL
            WHERE b.layer IN ('town', 'community', 'property_area')""")
            )
            .scalars()
            .all()
        )
    return list(shapely.from_wkb([bytes(r) for r in rows]))


def strtree_rate(polys: list[shapely.Geometry], sets: list[np.ndarray]) -> tuple[float, float]:
    """Points/s of STRtree point-in-polygon: (points-driven ``within``, polygon-driven)."""
    tree = shapely.STRtree(polys)
    n = sum(len(s) for s in sets)
    t0 = time.perf_counter()
    for pts in sets:
        tree.query(shapely.points(pts), predicate="within")
    within = n / (time.perf_counter() - t0)
    poly_arr = np.asarray(polys, dtype=object)
    t0 = time.perf_counter()
    for pts in sets:  # the points' tree is built per batch: it is part of the work
        shapely.STRtree(shapely.points(pts)).query(poly_arr, predicate="covers")
    return within, n / (time.perf_counter() - t0)


BULK_DDL = """
CREATE TABLE bench_points (
    id bigint PRIMARY KEY, geom geometry(Point, 4326), town_code text, community_code text,
    property_area_code text, agency_units jsonb)
"""

BULK_FILL = """
SELECT setseed(0.42);
INSERT INTO bench_points (id, geom)
SELECT g, ST_SetSRID(ST_MakePoint(:xmin + random() * (:xmax - :xmin),
                                  :ymin + random() * (:ymax - :ymin)), 4326)
FROM generate_series(1, :n) g
"""

#: The baseline: each active property area probes the points' GiST index (polygons outer).
BARE_JOIN = """
SELECT count(*) FROM {polygons} b
JOIN generation_period p ON p.generation_id = b.generation_id AND p.valid_to IS NULL
CROSS JOIN LATERAL (
    SELECT t.id FROM bench_points t WHERE ST_Covers(b.geom, t.geom) OFFSET 0) pt
{where}
"""


def timed_scalar(engine: Engine, sql: str) -> tuple[float, int]:
    """Seconds a one-value query takes, and its value."""
    with engine.connect() as conn:
        t0 = time.perf_counter()
        value = conn.execute(text(sql)).scalar_one()
        return time.perf_counter() - t0, int(value)


def fresh_table(engine: Engine, bbox: BBox, n: int, fillfactor: int | None = None) -> float:
    """(Re)create ``bench_points`` with ``n`` random points, indexed, vacuumed, checkpointed."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_points"))
        conn.execute(text(BULK_DDL))
        if fillfactor is not None:
            conn.execute(text(f"ALTER TABLE bench_points SET (fillfactor = {int(fillfactor)})"))
        for stmt in BULK_FILL.split(";"):
            conn.execute(text(stmt), {"n": n, **bbox.__dict__})
        conn.execute(text("CREATE INDEX bench_points_geom ON bench_points USING gist (geom)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE bench_points"))
        conn.execute(text("CHECKPOINT"))
    return time.perf_counter() - t0


def reresolve(engine: Engine) -> tuple[float, int, int, list[str]]:
    """One timed ``reresolve_table`` in its own transaction: seconds, points, changed, split."""
    from jurisdictions.bulk import reresolve_table

    with StatementTimer(engine) as timer:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            res = reresolve_table(conn, table="bench_points")
        elapsed = time.perf_counter() - t0
    return elapsed, res.points, res.changed, timer.lines(elapsed)
