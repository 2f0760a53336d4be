"""Hot-spot analysis of 1,000,000 cases-like points, in memory, beside the bare aggregation.

1. Gi* end to end — H3 res 9 aggregation over the study area (empty cells included), the
   ``grid_disk`` k=1 neighbourhood, ``esda.G_Local`` star with 999 permutations and FDR
   classes, and the GeoJSON answer serialised — ≤ 5 s, beside the bare aggregation (H3 index
   of every point + a count per cell) in the same run.
2. The 500 × 500 kernel density surface of the same points ≤ 2 s, beside the bare
   ``numpy.histogram2d`` binning of the projected points.

The points are made in memory (no database): what is measured is the analysis, not reading
1,000,000 rows; the extraction query of ``hotspots.service`` is not part of these figures.
The area is a 0.30° × 0.255° box around lon 120 / lat 30 (about 800 km², ≈ 10,000 res-9
cells at 0.082 km² each); 70 % of the points are uniform and 30 % in 40 Gaussian clusters
(σ 150-600 m), like a district's complaints.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import orjson
from pyproj import Transformer
from shapely import box

from benchmarks.common import Result, Section, log

N_POINTS = 1_000_000
BOX = (120.0, 30.0, 120.30, 30.255)
ROUNDS = 3


def synthetic_points(n: int = N_POINTS, seed: int = 42) -> gpd.GeoDataFrame:
    """``n`` lon/lat points: 70 % uniform over :data:`BOX`, 30 % in 40 clusters."""
    rng = np.random.default_rng(seed)
    west, south, east, north = BOX
    n_uniform = int(n * 0.7)
    x = [rng.uniform(west, east, n_uniform)]
    y = [rng.uniform(south, north, n_uniform)]
    centres = np.column_stack(
        [rng.uniform(west + 0.02, east - 0.02, 40), rng.uniform(south + 0.02, north - 0.02, 40)]
    )
    sizes = rng.multinomial(n - n_uniform, np.full(40, 1 / 40))
    for (cx, cy), k, sd_m in zip(centres, sizes, rng.uniform(150, 600, 40), strict=True):
        x.append(rng.normal(cx, sd_m / 96_000, k))
        y.append(rng.normal(cy, sd_m / 111_000, k))
    xs = np.clip(np.concatenate(x), west, east)
    ys = np.clip(np.concatenate(y), south, north)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326")


def _median_time(fn: Callable[[], object], rounds: int = ROUNDS) -> tuple[float, list[float]]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def hotspots() -> Section:
    """Gi* on ~10,000 H3 cells from 1,000,000 points, and the 500 × 500 density surface."""
    from gis.density import kde_surface
    from gis.grids import aggregate_h3, h3_cells, lonlat
    from gis.hotspots import gi_star
    from gis.neighbours import h3_ring
    from hotspots.analysis import feature_collection
    from hotspots.schemas import HotspotQuery

    sec = Section("Hot-spot analysis of 1,000,000 points (`gis`, in memory)")
    sec.commands.append("python -m benchmarks.run --only hotspots")
    log(f"making {N_POINTS:,} synthetic points")
    points = synthetic_points()
    area = box(*BOX)
    x, y = lonlat(points)

    def bare() -> object:
        return np.unique(h3_cells(x, y, 9), return_counts=True)

    query = HotspotQuery.model_validate({"method": "gi_star", "grid": "h3:9"})
    parts: dict[str, list[float]] = {"aggregate": [], "weights": [], "gi": [], "geojson": []}
    shape: dict[str, int] = {}

    def end_to_end() -> object:
        t0 = time.perf_counter()
        cells = aggregate_h3(points, 9, study_area=area)
        t1 = time.perf_counter()
        w = h3_ring(list(cells["cell"]), 1)
        t2 = time.perf_counter()
        out = gi_star(cells, w, permutations=999, seed=1)
        t3 = time.perf_counter()
        body = orjson.dumps(feature_collection(query, out, min_count=3, n_points=len(points)))
        t4 = time.perf_counter()
        for name, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            parts[name].append(dt)
        shape.update(
            cells=len(cells),
            hot=int((out["gi_bin"] > 0).sum()),
            cold=int((out["gi_bin"] < 0).sum()),
            bytes=len(body),
        )
        return body

    log("bare aggregation (H3 res 9 index + count per cell)")
    bare_s, bare_all = _median_time(bare)
    log("Gi* end to end")
    gi_s, gi_all = _median_time(end_to_end)
    sec.results.append(
        Result(
            "Gi* (999 permutations, FDR) on H3 res 9 cells from 1,000,000 points, end to end",
            gi_s,
            "s",
            kind="max",
            target=5.0,
            baseline=bare_s,
            baseline_name="bare aggregation: H3 index + count",
        )
    )
    medians = {k: statistics.median(v) for k, v in parts.items()}
    sec.notes += [
        f"{shape['cells']:,} cells (every res-9 cell of the box, empty ones included); "
        f"{shape['hot']:,} hot and {shape['cold']:,} cold at 90 %+ after FDR; "
        f"GeoJSON answer {shape['bytes'] / 1e6:.1f} MB",
        "end to end, median of the parts: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in medians.items()),
        f"rounds (s): end to end {', '.join(f'{t:.2f}' for t in gi_all)}; bare aggregation "
        f"{', '.join(f'{t:.2f}' for t in bare_all)}",
        "H3 indexing by h3ronpy (vectorised); esda without numba, n_jobs=1 (as the server runs)",
    ]

    utm = Transformer.from_crs(4326, 32651, always_xy=True)
    mx, my = utm.transform(x, y)

    def bare_bins() -> object:
        return np.histogram2d(my, mx, bins=(500, 500))

    def kde() -> object:
        return kde_surface(points, shape=(500, 500))

    log("bare binning (histogram2d of projected points)")
    bin_s, _ = _median_time(bare_bins)
    log("KDE 500 x 500")
    kde_s, kde_all = _median_time(kde)
    raster = kde_surface(points, shape=(500, 500))
    sec.results.append(
        Result(
            "KDE surface 500 × 500 of 1,000,000 points (projection, binning, Gaussian filter)",
            kde_s,
            "s",
            kind="max",
            target=2.0,
            baseline=bin_s,
            baseline_name="bare histogram2d of projected points",
        )
    )
    sec.notes += [
        f"KDE rounds (s): {', '.join(f'{t:.2f}' for t in kde_all)}; bandwidth "
        f"{raster.bandwidth_m:.0f} m (Scott), cell {raster.cell_m:.0f} m, {raster.crs}",
    ]
    return sec
