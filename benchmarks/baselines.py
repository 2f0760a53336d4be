"""Baselines of :mod:`benchmarks.resolve`: shapely's STRtree over the active polygons."""

from __future__ import annotations

import time

import numpy as np
import shapely
from sqlalchemy import Engine, text


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
