"""Run one analysis on extracted points and assemble its answer (no database here).

Privacy: only aggregates leave this module. A cell holding fewer than ``min_count`` cases (but
some) has its count and rates withheld (``suppressed: true``); empty cells are left out of
count maps; the density raster is blanked where it stands for fewer than ``min_count`` cases
within one bandwidth, and its bandwidth is at least 50 m.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import orjson
import pandas as pd
import shapely
from libpysal.weights import W

from gis.density import Raster, kde_surface
from gis.grids import aggregate_areas, aggregate_h3, aggregate_square
from gis.local_statistics import gi_star, local_moran
from gis.neighbours import distance_band, h3_ring, k_nearest
from gis.trends import emerging_hotspots
from hotspots.exceptions import AnalysisTooLarge, InvalidHotspotQuery, NotEnoughData
from hotspots.schemas import Format, HotspotQuery, Method

#: Statistic columns per method, as answered (besides cell, count and rates).
STAT_COLUMNS: dict[Method, tuple[str, ...]] = {
    Method.count: (),
    Method.gi_star: ("gi_z", "gi_p", "gi_p_sim", "gi_bin"),
    Method.local_moran: ("moran_i", "moran_z", "moran_p", "moran_q", "moran_label"),
    Method.emerging: ("trend_z", "trend_p", "hot_bins", "cold_bins", "final_bin", "category"),
}
RATE_COLUMNS = ("area_km2", "per_km2", "households", "per_1000_households")
MIN_CELLS = 8

#: The bounds of one analysis, checked before any large allocation (a 422 above them).
#: Measured: Gi* with 999 permutations over the 16,365 H3 res-10 cells of the sample district
#: (6 neighbours each: 1.1e8 units of work, 1.6e7 draws) took 4.2 s and 565 MB peak RSS.
MAX_CELLS = 150_000  # cells of the grid over the study area
MAX_LINKS = 2_000_000  # cells x neighbours: the spatial weights held in memory
MAX_DRAWS = 25_000_000  # cells x permutations (or time bins): the simulated statistics
MAX_WORK = 300_000_000  # cells x (neighbours + 1) x permutations (or time bins)


@dataclass(frozen=True)
class Answer:
    """A serialised answer and what it is."""

    media_type: str
    body: bytes
    n_points: int


@dataclass(frozen=True)
class Inputs:
    """What the service read: the points (with ``created_at`` and area codes), the admin
    areas of the grid's layer when it is one, and the study area (active towns)."""

    points: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None
    study_area: shapely.Geometry | None


def expected_cells(query: HotspotQuery, study_area: shapely.Geometry | None) -> int:
    """About how many cells the query's grid has over ``study_area`` (its bounding box)."""
    kind, value = query.grid_kind
    if study_area is None or kind not in ("h3", "square") or study_area.is_empty:
        return 0
    west, south, east, north = shapely.bounds(study_area).tolist()
    lat = np.radians((south + north) / 2)
    area_m2 = (east - west) * 111_320 * np.cos(lat) * (north - south) * 110_574
    cell_m2 = (
        h3.average_hexagon_area(int(value or 9), unit="m^2")
        if kind == "h3"
        else float(value or 250) ** 2
    )
    return int(area_m2 / cell_m2)


def expected_neighbours(query: HotspotQuery, n_cells: int) -> int:
    """How many neighbours each cell has in the query's neighbourhood (at most)."""
    kind, _ = query.grid_kind
    k = query.k
    if kind == "h3":
        return 3 * k * (k + 1)
    if kind == "square":  # cells whose centre lies within 1.5 k cell edges
        r2 = (1.5 * k) ** 2
        reach = int(1.5 * k)
        span = range(-reach, reach + 1)
        return sum(1 for i in span for j in span if 0 < i * i + j * j <= r2)
    return max(0, min(max(k, 4), n_cells - 1))


def check_budget(query: HotspotQuery, n_cells: int, *, repeats: int | None = None) -> None:
    """Refuse (422) an analysis whose cells x neighbours x permutations exceed the bounds.

    ``repeats`` is the permutations (Gi*, Local Moran) or the time bins (emerging)."""
    hint = "use a coarser grid, a smaller k, fewer permutations or a town filter"
    if n_cells > MAX_CELLS:
        raise AnalysisTooLarge(
            f"the {query.grid} grid has about {n_cells:,} cells here (at most {MAX_CELLS:,}): "
            + hint,
            cells=n_cells,
        )
    if query.method in (Method.count, Method.kde):
        return
    neighbours = expected_neighbours(query, n_cells)
    draws = max(repeats if repeats is not None else query.permutations, 1)
    links, work = n_cells * neighbours, n_cells * (neighbours + 1) * draws
    if links > MAX_LINKS or n_cells * draws > MAX_DRAWS or work > MAX_WORK:
        raise AnalysisTooLarge(
            f"{n_cells:,} cells x {neighbours:,} neighbours x {draws:,} "
            f"{'time bins' if repeats is not None else 'permutations'} is more than one "
            f"analysis may do (cells x neighbours at most {MAX_LINKS:,}, cells x permutations "
            f"at most {MAX_DRAWS:,}, their product at most {MAX_WORK:,}): " + hint,
            cells=n_cells,
            neighbours=neighbours,
        )


def precheck(query: HotspotQuery, inputs: Inputs) -> None:
    """Refuse an analysis too large for its grid before any cell is made (in the request's
    process, before the work is handed to the pool)."""
    areas = inputs.areas
    check_budget(
        query, len(areas) if areas is not None else expected_cells(query, inputs.study_area)
    )


def aggregate(query: HotspotQuery, inputs: Inputs, points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Count ``points`` on the query's grid."""
    kind, value = query.grid_kind
    if kind == "h3":
        assert value is not None
        return aggregate_h3(points, value, study_area=inputs.study_area)
    if kind == "square":
        return aggregate_square(points, float(value or 250), study_area=inputs.study_area)
    assert inputs.areas is not None
    return aggregate_areas(points, inputs.areas, key=f"{kind}_code")


def neighbourhood(query: HotspotQuery, cells: gpd.GeoDataFrame) -> W:
    """The stated neighbourhood of the grid (H3 ring k, queen-like band, or k nearest)."""
    kind, value = query.grid_kind
    if len(cells) < MIN_CELLS:
        raise NotEnoughData(
            f"the {query.grid} grid has {len(cells)} cells here: {query.method.value} needs at "
            f"least {MIN_CELLS}; use method=count or a finer grid"
        )
    if kind == "h3":
        w = h3_ring(list(cells["cell"]), query.k)
    elif kind == "square":
        w = distance_band(cells, 1.5 * query.k * float(value or 250))
    else:
        return k_nearest(cells, min(max(query.k, 4), len(cells) - 1))
    if not any(w.cardinalities.values()):  # cases too sparse for the grid: all cells isolated
        raise NotEnoughData(
            f"no cell of the {query.grid} grid has a neighbour within k={query.k} here: "
            f"{query.method.value} compares each cell with its neighbours; use a coarser grid, "
            "a larger k or method=count"
        )
    return w


def _analyse_cells(query: HotspotQuery, inputs: Inputs) -> gpd.GeoDataFrame:
    precheck(query, inputs)
    cells = aggregate(query, inputs, inputs.points)
    if query.method is not Method.emerging:
        check_budget(query, len(cells))
    runs: dict[Method, Callable[[], gpd.GeoDataFrame]] = {
        Method.count: lambda: cells[cells["count"] > 0].reset_index(drop=True),
        Method.gi_star: lambda: gi_star(
            cells, neighbourhood(query, cells), permutations=query.permutations, fdr=query.fdr
        ),
        Method.local_moran: lambda: local_moran(
            cells, neighbourhood(query, cells), permutations=query.permutations, fdr=query.fdr
        ),
        Method.emerging: lambda: _emerging(query, inputs, cells),
    }
    return runs[query.method]()


def _emerging(query: HotspotQuery, inputs: Inputs, cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    stamps = pd.to_datetime(inputs.points["created_at"], utc=True).dt.tz_localize(None)
    periods = stamps.dt.to_period(query.interval.value)
    bins = pd.period_range(periods.min(), periods.max(), freq=query.interval.value)
    if len(bins) < 4:
        raise NotEnoughData(f"{len(bins)} time bin(s): emerging hot spots need at least 4")
    check_budget(query, len(cells), repeats=len(bins))
    columns = {}
    occupied = replace(inputs, study_area=None)  # per bin only the cells holding cases count
    for period in bins:
        subset = inputs.points[(periods == period).to_numpy()]
        per_bin = aggregate(query, occupied, subset) if len(subset) else cells.iloc[:0]
        columns[str(period)] = per_bin.set_index("cell")["count"]
    counts = pd.DataFrame(columns).reindex(cells["cell"]).fillna(0.0)
    return emerging_hotspots(cells, counts, neighbourhood(query, cells), fdr=query.fdr)


def _column(values: Any, withheld: np.ndarray | None = None) -> list[Any]:
    """A column as JSON values: floats rounded to 6 decimals, NaN and withheld rows → None."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        out = np.round(arr, 6).astype(object)
        out[~np.isfinite(arr)] = None
    else:
        out = arr.astype(object)
    if withheld is not None:
        out[withheld] = None
    return [v.item() if isinstance(v, np.generic) else v for v in out.tolist()]


def feature_collection(
    query: HotspotQuery, result: gpd.GeoDataFrame, *, min_count: int, n_points: int
) -> dict[str, Any]:
    """The GeoJSON answer: one feature per cell, the parameters echoed, small cells withheld."""
    stats = STAT_COLUMNS[query.method]
    rates = [c for c in RATE_COLUMNS if c in result.columns]
    counts = result["count"].to_numpy()
    small = (counts > 0) & (counts < min_count)
    columns: dict[str, list[Any]] = {"cell": _column(result["cell"])}
    if "name" in result.columns:
        columns["name"] = _column(result["name"])
    columns["count"] = _column(counts, small)
    columns["suppressed"] = small.tolist()
    for c in rates:
        columns[c] = _column(result[c], None if c == "area_km2" else small)
    for c in stats:
        columns[c] = _column(result[c])
    names = list(columns)
    plain = np.asarray(result.geometry.values)  # a numpy array: no pandas ufunc dispatch
    rounded = shapely.transform(plain, lambda xy: np.round(xy, 6))  # ~0.1 m, x = lon
    geoms = shapely.to_geojson(rounded).tolist()
    features = [
        {
            "type": "Feature",
            "id": cell,
            "geometry": orjson.Fragment(geom),
            "properties": dict(zip(names, values, strict=True)),
        }
        for cell, geom, *values in zip(columns["cell"], geoms, *columns.values(), strict=True)
    ]
    summary: dict[str, Any] = {
        "points": n_points,
        "cells": len(result),
        "suppressed": int(small.sum()),
    }
    if "gi_bin" in result.columns:
        summary["hot"] = int((result["gi_bin"] > 0).sum())
        summary["cold"] = int((result["gi_bin"] < 0).sum())
    if "moran_label" in result.columns:
        summary |= {k: int(v) for k, v in result["moran_label"].value_counts().items()}
    if "category" in result.columns:
        summary["categories"] = {k: int(v) for k, v in result["category"].value_counts().items()}
    return {
        "type": "FeatureCollection",
        "parameters": query.echo()
        | {
            "min_count": min_count,
            "neighbourhood": result.attrs.get("neighbourhood", ""),
            "crs": "EPSG:4326",
            "bins": result.attrs.get("bins"),
        },
        "summary": summary,
        "features": features,
    }


def _png(raster: Raster, blank_below: float) -> bytes:
    from matplotlib import colormaps
    from PIL import Image, PngImagePlugin

    values = raster.values
    top = float(values.max()) or 1.0
    rgba = colormaps["YlOrRd"](np.clip(values / top, 0, 1), bytes=True)
    rgba[..., 3] = np.where(values < blank_below, 0, 200).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("bounds", ",".join(f"{v:.6f}" for v in raster.lonlat_bounds()))
    out = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(out, format="PNG", optimize=False, pnginfo=info)
    return out.getvalue()


def png_bounds(png: bytes) -> str:
    """``west,south,east,north`` (EPSG:4326) of a density PNG, kept in its ``bounds`` text."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return str(getattr(image, "text", {}).get("bounds", ""))


def density(query: HotspotQuery, inputs: Inputs, *, min_count: int) -> tuple[Raster, bytes, float]:
    """The KDE raster, its PNG and the density below which pixels are blanked (per km²)."""
    if len(inputs.points) < max(min_count, 2):
        raise NotEnoughData(f"{len(inputs.points)} case(s): too few for a density surface")
    bounds = shapely.bounds(inputs.study_area).tolist() if inputs.study_area is not None else None
    raster = kde_surface(
        inputs.points,
        shape=(query.size, query.size),
        bounds=bounds,
        bandwidth_m=query.bandwidth_m,
    )
    if raster.bandwidth_m < 50:  # a rule-of-thumb bandwidth on few points: not below 50 m
        raster = kde_surface(
            inputs.points, shape=(query.size, query.size), bounds=bounds, bandwidth_m=50
        )
    # fewer than min_count cases within one bandwidth (a disc of radius h) → blank
    blank = min_count / (np.pi * (raster.bandwidth_m / 1000) ** 2)
    return raster, _png(raster, blank), blank


def run(query: HotspotQuery, inputs: Inputs, *, min_count: int) -> Answer:
    """Compute and serialise one analysis."""
    n = len(inputs.points)
    if query.method is Method.kde:
        raster, png, blank = density(query, inputs, min_count=min_count)
        if query.format is Format.png:
            return Answer("image/png", png, n)
        body = {
            "parameters": query.echo() | {"min_count": min_count},
            "bounds": list(raster.lonlat_bounds()),
            "crs": raster.crs,
            "bandwidth_m": round(raster.bandwidth_m, 1),
            "cell_m": round(raster.cell_m, 2),
            "max_per_km2": round(float(raster.values.max()), 3),
            "blank_below_per_km2": round(blank, 3),
            "points": n,
            "image": "data:image/png;base64," + base64.b64encode(png).decode(),
        }
        return Answer("application/json", orjson.dumps(body), n)
    if query.format is Format.png:
        raise InvalidHotspotQuery("format=png is only for method=kde")
    if n == 0 and query.method is not Method.count:
        raise NotEnoughData("no cases match the filters")
    result = _analyse_cells(query, inputs)
    body = feature_collection(query, result, min_count=min_count, n_points=n)
    return Answer("application/geo+json", orjson.dumps(body), n)
