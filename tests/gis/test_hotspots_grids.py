"""Aggregation grids, the density surface and emerging-hot-spot trends on planted data."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely import box

from gis.density import bandwidth, kde_surface
from gis.grids import AnalysisInputError, aggregate_areas, aggregate_h3, aggregate_square
from gis.neighbours import distance_band, h3_ring, k_nearest
from gis.trends import classify, emerging_hotspots, mann_kendall


def _pts(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    x, y = zip(*xy, strict=True) if xy else ((), ())
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def test_h3_counts_add_up_and_study_area_fills_empty_cells() -> None:
    rng = np.random.default_rng(1)
    pts = _pts(list(zip(rng.uniform(120, 120.01, 50), rng.uniform(30, 30.01, 50), strict=True)))
    area = box(120, 30, 120.02, 30.02)
    plain = aggregate_h3(pts, 9)
    full = aggregate_h3(pts, 9, study_area=area)
    assert plain["count"].sum() == full["count"].sum() == 50
    assert len(full) > len(plain) and (full["count"] == 0).any()
    assert set(plain["cell"]) <= set(full["cell"])
    assert full.crs.to_epsg() == 4326
    # hexagon geometry: x = lon, y = lat, around its centre
    cell = full.iloc[0]
    lat, lng = h3.cell_to_latlng(cell["cell"])
    assert cell.geometry.contains(gpd.points_from_xy([lng], [lat])[0])
    np.testing.assert_allclose(full["per_km2"], full["count"] / full["area_km2"])


def test_square_grid_in_a_stated_crs() -> None:
    pts = _pts([(120.001, 30.001), (120.0011, 30.0011), (120.009, 30.009)])
    utm = aggregate_square(pts, 250)
    gk = aggregate_square(pts, 250, crs="EPSG:4549")  # CGCS2000 3-degree GK CM 120E
    assert utm.attrs["grid_crs"] == "EPSG:32651" and gk.attrs["grid_crs"] == "EPSG:4549"
    for out in (utm, gk):
        assert sorted(out["count"]) == [1, 2]
        assert (out["area_km2"] == 0.0625).all()
        assert all(
            g.contains(p) or g.touches(p)
            for g, p in zip(out.sort_values("count").geometry, pts.geometry[[2, 0]], strict=True)
        )
    with pytest.raises(AnalysisInputError, match="projected"):
        aggregate_square(pts, 250, crs="EPSG:4326")
    filled = aggregate_square(pts, 250, study_area=box(120, 30, 120.01, 30.01))
    assert filled["count"].sum() == 3 and len(filled) >= 16


def test_areas_by_spatial_join_and_by_stored_code_agree() -> None:
    areas = gpd.GeoDataFrame(
        {"code": ["B", "A"], "name": ["乙", "甲"], "households": [0, 1500]},
        geometry=[box(120.01, 30.0, 120.02, 30.01), box(120.0, 30.0, 120.01, 30.01)],
        crs="EPSG:4326",
    )
    pts = _pts([(120.005, 30.005)] * 3 + [(120.015, 30.005), (120.01, 30.002)])  # one on the border
    joined = aggregate_areas(pts, areas)
    assert joined[["cell", "count"]].values.tolist() == [["A", 4], ["B", 1]]  # border → lowest
    pts["code"] = ["A", "A", "A", "B", "A"]
    keyed = aggregate_areas(pts, areas, key="code")
    assert keyed["count"].tolist() == joined["count"].tolist()
    assert keyed.loc[0, "per_1000_households"] == pytest.approx(4 / 1500 * 1000)
    assert np.isnan(keyed.loc[1, "per_1000_households"])  # 0 households: no rate
    assert keyed["area_km2"].iloc[0] == pytest.approx(1.07, rel=0.02)  # 0.01° square at 30°N


def test_neighbourhoods_are_stated() -> None:
    centre = h3.latlng_to_cell(30.0, 120.0, 9)
    ids = sorted(h3.grid_disk(centre, 2))
    assert h3_ring(ids, 1).cardinalities[centre] == 6
    assert h3_ring(ids, 2).cardinalities[centre] == 18
    cells = aggregate_square(_pts([(120.0 + i * 0.0026, 30.0) for i in range(5)]), 250)
    assert "distance band 375 m" in distance_band(cells, 375).description
    assert k_nearest(cells, 2).cardinalities[cells["cell"][0]] == 2


def test_kde_peaks_at_the_cluster_and_integrates_to_n() -> None:
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(120, 120.1, 5000), rng.normal(120.07, 0.002, 2000)]
    y = np.r_[rng.uniform(30, 30.1, 5000), rng.normal(30.03, 0.002, 2000)]
    pts = _pts(list(zip(x, y, strict=True)))
    r = kde_surface(pts, shape=(200, 200), bounds=(119.98, 29.98, 120.12, 30.12))
    assert r.values.shape == (200, 200) and r.crs == "EPSG:32651"
    total = r.values.sum() * (r.cell_m / 1000) ** 2
    assert total == pytest.approx(7000, rel=0.02)
    row, col = np.unravel_index(np.argmax(r.values), r.values.shape)
    west, south, east, north = r.lonlat_bounds()
    peak_lon = west + (col + 0.5) / 200 * (east - west)
    peak_lat = north - (row + 0.5) / 200 * (north - south)
    assert abs(peak_lon - 120.07) < 0.004 and abs(peak_lat - 30.03) < 0.004
    # the bandwidth rule: σ·n^(-1/6) of the projected coordinates; overridable
    assert r.bandwidth_m == pytest.approx(bandwidth(_projected(x, y), "scott"))
    assert kde_surface(pts, shape=(50, 50), bandwidth_m=500).bandwidth_m == 500
    assert bandwidth(_projected(x, y), "robust") <= r.bandwidth_m


def _projected(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from pyproj import Transformer

    t = Transformer.from_crs(4326, 32651, always_xy=True)
    return np.column_stack(t.transform(x, y))


def test_mann_kendall_matches_kendall_tau_against_time() -> None:
    rng = np.random.default_rng(5)
    series = np.cumsum(rng.normal(0.3, 1, 24))
    z, p = mann_kendall(series)
    tau = stats.kendalltau(np.arange(24), series, method="asymptotic")
    assert np.sign(z) == np.sign(tau.statistic)
    assert p == pytest.approx(tau.pvalue, rel=0.15)  # same test, with continuity correction


@pytest.mark.parametrize(
    ("bins", "trend", "category"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], (0.5, 0.6), "new_hot"),
        ([0, 0, 0, 0, 0, 0, 0, 1, 2, 3], (2.5, 0.01), "consecutive_hot"),
        ([2, 2, 2, 2, 2, 2, 2, 2, 2, 2], (0.1, 0.9), "persistent_hot"),
        ([3, 3, 3, 3, 3, 3, 2, 2, 1, 1], (-2.8, 0.005), "diminishing_hot"),
        ([1, 0, 1, 0, 0, 1, 0, 0, 0, 2], (0.3, 0.7), "sporadic_hot"),
        ([1, 0, -1, 0, 0, 1, 0, 0, 0, 2], (0.3, 0.7), "oscillating_hot"),
        ([2, 2, 2, 2, 2, 2, 2, 2, 2, 0], (-0.5, 0.6), "historical_hot"),
        ([-2, -2, -2, -2, -2, -2, -2, -2, -2, -2], (0.1, 0.9), "persistent_cold"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], (0.0, 1.0), "no_pattern"),
    ],
)
def test_emerging_categories(bins: list[int], trend: tuple[float, float], category: str) -> None:
    assert classify(bins, *trend) == category


def test_emerging_hotspots_on_a_growing_cluster() -> None:
    centre = h3.latlng_to_cell(30.0, 120.0, 9)
    ids = sorted(h3.grid_disk(centre, 5))
    dist = np.array([h3.grid_distance(c, centre) for c in ids])
    rng = np.random.default_rng(9)
    # ring ≤ 1 around the centre grows from the start; a spot 4 rings away appears last
    spot = np.array([h3.grid_distance(c, ids[0]) <= 1 for c in ids])
    counts = pd.DataFrame(
        {
            t: rng.poisson(np.where(dist <= 1, 20 + 4 * t, 10) + (t == 9) * spot * 30)
            for t in range(10)
        },
        index=ids,
    )
    out = emerging_hotspots(gpd.GeoDataFrame({"cell": ids}), counts, h3_ring(ids, 1))
    assert out.loc[dist == 0, "category"].iloc[0] == "intensifying_hot"
    assert out.loc[out["cell"] == ids[0], "category"].iloc[0] == "new_hot"
    assert out.attrs["bins"] == [str(t) for t in range(10)]
    assert (out.loc[dist == 0, "hot_bins"] == 10).all()
