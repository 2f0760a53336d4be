"""The nearest-border grid (:mod:`jurisdictions.nearest`) against the definition: for points
around a few towns, the town whose border is nearest and the distance to it, as GEOS measures
them over every border (no grid, no candidates)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from jurisdictions.nearest import build_nearest

SCALE = 0.86  # cos(latitude) of a district near 31°N


def towns() -> np.ndarray:
    ring = Polygon(
        [(121 + 0.01 * np.cos(a), 31 + 0.01 * np.sin(a)) for a in np.linspace(0, 6.28, 400)]
    )
    return np.array(
        [
            box(121.02, 31.0, 121.04, 31.02).difference(box(121.025, 31.005, 121.03, 31.01)),
            ring,  # many short segments: a cell keeps many candidates
            MultiPolygon([box(121.05, 31.0, 121.06, 31.01), box(121.07, 31.0, 121.075, 31.005)]),
            box(121.025, 31.005, 121.03, 31.01),  # the hole's enclave
        ]
    )


def test_grid_agrees_with_the_distance_to_every_border() -> None:
    geoms = towns()
    grid = build_nearest(geoms, np.arange(len(geoms)), SCALE)
    assert grid is not None
    rng = np.random.default_rng(3)
    # within the grid: the towns' extent and a quarter of it on every side
    xs, ys = rng.uniform(120.975, 121.09, 20_000), rng.uniform(30.985, 31.025, 20_000)
    on, town, qx, qy = grid.nearest(xs * SCALE, ys)
    assert on.all()  # the grid answers every point near the district
    borders = shapely.transform(shapely.boundary(geoms), lambda c: c * [SCALE, 1.0])
    points = shapely.points(xs[on] * SCALE, ys[on])
    d = shapely.distance(points[:, None], borders[None, :])  # (points, towns)
    got = np.hypot(xs[on] * SCALE - qx, ys[on] - qy)
    assert np.allclose(got, d.min(axis=1), rtol=0, atol=1e-12)
    clear = np.sort(d, axis=1)[:, 1] - d.min(axis=1) > 1e-9  # no tie between two towns
    assert (town[clear] == d.argmin(axis=1)[clear]).all()
    # the nearest point found is on that town's border
    on_border = shapely.distance(shapely.points(qx, qy), borders[town])
    assert (on_border < 1e-12).all()


def test_points_beyond_the_grid_are_left_to_the_caller() -> None:
    geoms = towns()
    grid = build_nearest(geoms, np.arange(len(geoms)), SCALE)
    assert grid is not None
    on, town, _, _ = grid.nearest(np.array([100.0, 121.03 * SCALE]), np.array([20.0, 31.015]))
    assert on.tolist() == [False, True] and len(town) == 1
