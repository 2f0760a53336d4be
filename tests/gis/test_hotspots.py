"""Hot-spot statistics on planted data: a known cluster on a uniform background (fixed seeds).

The field: 20,000 points uniform over a 0.1° × 0.1° box near lon 120 / lat 30, plus a planted
cluster of 3,000 points uniform in a disc of 300 m radius; aggregated to H3 resolution 9 over
the whole box (empty cells included).
"""

from __future__ import annotations

import doctest

import geopandas as gpd
import h3
import numpy as np
import pytest
from esda.getisord import G_Local
from esda.moran import Moran_Local
from shapely import box

import gis.density
import gis.grids
import gis.local_statistics
import gis.neighbours
import gis.trends
from gis.grids import AnalysisInputError, aggregate_h3, h3_cells
from gis.local_statistics import confidence_bins, gi_star, local_moran
from gis.neighbours import h3_ring

BOX = box(120.00, 30.00, 120.10, 30.10)
CLUSTER = (120.07, 30.03)  # lon, lat


def _points(n_background: int, n_cluster: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(120.00, 120.10, n_background)
    y = rng.uniform(30.00, 30.10, n_background)
    r = 300 * np.sqrt(rng.uniform(0, 1, n_cluster))  # uniform in the disc
    a = rng.uniform(0, 2 * np.pi, n_cluster)
    cx = CLUSTER[0] + r * np.cos(a) / (111_320 * np.cos(np.radians(CLUSTER[1])))
    cy = CLUSTER[1] + r * np.sin(a) / 110_574
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(np.r_[x, cx], np.r_[y, cy]), crs="EPSG:4326"
    )


@pytest.fixture(scope="module")
def planted() -> gpd.GeoDataFrame:
    return aggregate_h3(_points(20_000, 3_000, seed=1), 9, study_area=BOX)


@pytest.fixture(scope="module")
def uniform() -> gpd.GeoDataFrame:
    return aggregate_h3(_points(20_000, 0, seed=2), 9, study_area=BOX)


def _ring_distance(cells: gpd.GeoDataFrame) -> np.ndarray:
    centre = h3.latlng_to_cell(CLUSTER[1], CLUSTER[0], 9)
    return np.array([h3.grid_distance(c, centre) for c in cells["cell"]])


def test_planted_cluster_is_hot_at_99_percent(planted: gpd.GeoDataFrame) -> None:
    out = gi_star(planted, h3_ring(list(planted["cell"]), 1), permutations=999, seed=7)
    dist = _ring_distance(out)
    assert (out.loc[dist == 0, "gi_bin"] == 3).all()
    # the disc (radius 300 m) covers the centre and most of its ring: all hot at 99 %
    core = out[dist <= 1]
    assert (core["gi_bin"] == 3).sum() >= 5
    # far from the cluster the background is uniform: false hot cells stay within the FDR
    hot = out["gi_bin"] >= 1
    false_hot = hot & (dist > 3)
    assert false_hot.sum() <= 0.10 * hot.sum()


def test_uniform_field_has_no_more_false_hot_cells_than_fdr_allows(
    uniform: gpd.GeoDataFrame,
) -> None:
    w = h3_ring(list(uniform["cell"]), 1)
    corrected = gi_star(uniform, w, permutations=999, seed=3)
    plain = gi_star(uniform, w, permutations=999, seed=3, fdr=False)
    # under the global null, BH at q = 0.10 rejects anything at all with probability <= 0.10
    assert (corrected["gi_bin"] != 0).sum() <= 1
    # without the correction about 10 % of the cells are "significant" at 90 %
    share = (plain["gi_bin"] != 0).mean()
    assert 0.03 < share < 0.2
    assert len(uniform) > 1000 and (uniform["count"] == 0).sum() >= 0


def test_gi_star_equals_esda_run_directly(planted: gpd.GeoDataFrame) -> None:
    w = h3_ring(list(planted["cell"]), 1)
    out = gi_star(planted, w, permutations=999, seed=11)
    y = planted["count"].to_numpy(dtype=float)
    ref = G_Local(y, w, transform="B", permutations=999, star=True, seed=11, n_jobs=1)
    np.testing.assert_allclose(out["gi_z"], ref.z_sim)
    np.testing.assert_allclose(out["gi_p"], 2 * ref.p_z_sim)
    np.testing.assert_allclose(out["gi_p_sim"], ref.p_sim)
    analytic = gi_star(planted, w, permutations=0)
    np.testing.assert_allclose(analytic["gi_z"], ref.Zs)
    np.testing.assert_allclose(analytic["gi_p"], 2 * ref.p_norm)


def test_local_moran_finds_the_cluster_and_equals_esda(planted: gpd.GeoDataFrame) -> None:
    w = h3_ring(list(planted["cell"]), 1)
    out = local_moran(planted, w, permutations=999, seed=5)
    dist = _ring_distance(out)
    assert out.loc[dist == 0, "moran_label"].iloc[0] == "HH"
    assert set(out["moran_label"]) <= {"HH", "LL", "HL", "LH", "ns"}
    w2 = h3_ring(list(planted["cell"]), 1)
    y = planted["count"].to_numpy(dtype=float)
    ref = Moran_Local(y, w2, transformation="r", permutations=999, seed=5, n_jobs=1)
    np.testing.assert_allclose(out["moran_i"], ref.Is)
    np.testing.assert_allclose(out["moran_z"], ref.z_sim)
    np.testing.assert_array_equal(out["moran_q"], ref.q)


def test_confidence_bins_follow_arcgis_levels_and_fdr() -> None:
    z = np.array([3.0, 2.2, 1.7, -3.0, -2.0, 0.3])
    p = np.array([0.002, 0.03, 0.08, 0.004, 0.045, 0.76])
    assert confidence_bins(z, p, fdr=False).tolist() == [3, 2, 1, -3, -2, 0]
    # BH over 6 tests: at 99 % only p < 1·0.01/6 … would pass; here none at 0.01 except by
    # rank: 0.002 < 1·0.01/6 = 0.00167 is false, so the 99 % class disappears
    corrected = confidence_bins(z, p, fdr=True)
    assert corrected.tolist()[0] < 3 and corrected.tolist()[-1] == 0
    assert (np.abs(corrected) <= np.abs(confidence_bins(z, p, fdr=False))).all()


def test_a_cell_without_neighbours_is_not_a_permutation_hot_spot() -> None:
    """A cell with no neighbour (an exclave's lone cell) holding cases: its G* is its own share
    of the cases under every permutation, so the permutation test has nothing to compare and
    the cell is not tested (found by the fuzz run: esda's z was +inf, the cell a 99 % hot spot,
    and a meeting's agenda failed formatting it)."""
    centre = "89309a41aabffff"
    island = h3.grid_ring(centre, 6)[0]  # six rings away: no ring-1 neighbour among the cells
    ids = sorted({*h3.grid_disk(centre, 2), island})
    counts = [3 if c == island else (2 if c == centre else 0) for c in ids]
    cells = gpd.GeoDataFrame({"cell": ids, "count": counts})
    with pytest.warns(UserWarning):  # libpysal: the weights have 2 components
        out = gi_star(cells, h3_ring(ids, 1), permutations=99)
    row = out.loc[out.cell == island].iloc[0]
    assert int(row["gi_bin"]) == 0
    assert np.isnan(row["gi_z"]) and np.isnan(row["gi_p"]) and np.isnan(row["gi_p_sim"])
    assert np.isfinite(out.loc[out.cell != island, "gi_z"]).all()  # the others are tested


def test_h3_cells_equal_the_h3_loop() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.uniform(120, 120.2, 5000), rng.uniform(30, 30.2, 5000)
    fast = h3_cells(x, y, 9)
    loop = [h3.str_to_int(h3.latlng_to_cell(b, a, 9)) for a, b in zip(x, y, strict=True)]
    assert fast.tolist() == loop


def test_inputs_are_checked() -> None:
    pts = _points(10, 0, seed=1)
    with pytest.raises(AnalysisInputError, match="EPSG:4326"):
        aggregate_h3(pts.to_crs(32651), 9)
    with pytest.raises(AnalysisInputError, match="7-10"):
        aggregate_h3(pts, 12)
    cells = aggregate_h3(pts, 9)
    with pytest.raises(AnalysisInputError, match="order"):
        gi_star(cells.iloc[::-1], h3_ring(list(cells["cell"]), 1))


@pytest.mark.parametrize(
    "module", [gis.grids, gis.neighbours, gis.local_statistics, gis.density, gis.trends]
)
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_cells_none_of_which_has_a_neighbour_are_refused() -> None:
    """Four cells 5, 10 and 15 rings apart: no ring-1 neighbour anywhere, so neither Gi* nor
    local Moran's I has anything to compare (found by the fuzz run: esda's permutations
    failed with a broadcast error, a 500)."""
    centre = "89309a41aabffff"
    ids = [centre, *(h3.grid_ring(centre, r)[0] for r in (5, 10, 15))]
    cells = gpd.GeoDataFrame({"cell": ids, "count": [1, 2, 3, 4]})
    for statistic in (gi_star, local_moran):
        with pytest.raises(AnalysisInputError, match="no cell has a neighbour"):
            statistic(cells, h3_ring(ids, 1), permutations=99)
