"""Aggregate lon/lat points into cells: H3 hexagons, a metric square grid, or given areas.

Every function takes points as a GeoDataFrame in EPSG:4326 (x = lon, y = lat) and returns
one row per cell with ``cell`` (an id), ``count``, ``area_km2``, ``per_km2`` and the cell's
polygon in EPSG:4326. Metric work (square cells, areas) happens in a stated projected CRS:
the UTM zone (WGS 84) around the data unless one is passed (e.g. ``EPSG:4549``, CGCS2000
3-degree Gauss-Krüger zone 40, for the district's own drawings).

H3 indexing of many points uses :mod:`h3ronpy` (vectorised, about twice as fast as a Python
loop over :func:`h3.latlng_to_cell`, which has no vectorised form in h3 v4); the loop is the
fall-back when h3ronpy is not installed.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gis.exceptions import GisError

WGS84 = CRS.from_epsg(4326)
H3_RESOLUTIONS = range(7, 11)
COLUMNS = ["cell", "count", "area_km2", "per_km2", "geometry"]


class AnalysisInputError(GisError, ValueError):
    """Input an analysis cannot use: wrong CRS, non-point geometry, a bad parameter.

    Examples
    --------
    >>> isinstance(AnalysisInputError("resolution 12 is not one of 7-10"), GisError)
    True
    """


def lonlat(points: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Validate lon/lat points and return their x (lon) and y (lat) arrays.

    Parameters
    ----------
    points : GeoDataFrame
        Point geometries in EPSG:4326 (CGCS2000, EPSG:4490, is accepted as the same frame).

    Returns
    -------
    (ndarray, ndarray)
        Longitudes and latitudes.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([120.0], [30.0]), crs=4326)
    >>> lonlat(pts)
    (array([120.]), array([30.]))
    """
    if not isinstance(points, gpd.GeoDataFrame):
        raise AnalysisInputError("points must be a GeoDataFrame")
    if points.crs is None or CRS(points.crs).to_epsg() not in (4326, 4490):
        raise AnalysisInputError(f"points must be lon/lat in EPSG:4326, not {points.crs}")
    geoms = np.asarray(points.geometry.values)  # plain array: no pandas ufunc dispatch
    if len(geoms) and not (shapely.get_type_id(geoms) == 0).all():
        raise AnalysisInputError("every geometry must be a point")
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise AnalysisInputError("points have empty or non-finite coordinates")
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def metric_crs(lon: npt.ArrayLike, lat: npt.ArrayLike) -> CRS:
    """The UTM zone (WGS 84) around the centre of the given lon/lat extent.

    Examples
    --------
    >>> metric_crs([120.0, 120.2], [30.0, 30.1]).to_epsg()
    32651
    """
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    cx = float((x.min() + x.max()) / 2) if x.size else 0.0
    cy = float((y.min() + y.max()) / 2) if y.size else 0.0
    zone = min(max(int((cx + 180) // 6) + 1, 1), 60)
    return CRS.from_epsg((32600 if cy >= 0 else 32700) + zone)


def h3_cells(lon: npt.ArrayLike, lat: npt.ArrayLike, resolution: int) -> npt.NDArray[np.uint64]:
    """The H3 cell (as an unsigned 64-bit integer) of every lon/lat point.

    Examples
    --------
    >>> cells = h3_cells([120.0], [30.0], 9)
    >>> h3.int_to_str(int(cells[0]))
    '894196799d3ffff'
    """
    _check_resolution(resolution)
    x = np.ascontiguousarray(lon, dtype=np.float64)
    y = np.ascontiguousarray(lat, dtype=np.float64)
    try:
        from h3ronpy.vector import coordinates_to_cells
    except ImportError:  # pragma: no cover - the pinned dependency is installed
        return np.fromiter(
            (h3.latlng_to_cell(b, a, resolution) for a, b in zip(x, y, strict=True)),
            dtype=np.uint64,
            count=x.size,
        ).astype(np.uint64)
    return np.asarray(coordinates_to_cells(y, x, resolution), dtype=np.uint64)


def _check_resolution(resolution: int) -> None:
    if resolution not in H3_RESOLUTIONS:
        raise AnalysisInputError(f"H3 resolution {resolution} is not one of 7-10")


def _hexagons(
    ids: npt.NDArray[np.uint64],
) -> tuple[list[str], npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """Index strings, lon/lat polygons and areas (km²) of H3 cells."""
    try:
        import h3ronpy
        from h3ronpy.vector import cells_to_wkb_polygons
    except ImportError:  # pragma: no cover - the pinned dependency is installed
        names = [h3.int_to_str(int(c)) for c in ids]
        # h3 returns (lat, lng) pairs: swap to (x = lon, y = lat)
        rings = [shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in names]
        sizes = [h3.cell_area(c, "km^2") for c in names]
        return names, np.asarray(rings, dtype=object), np.asarray(sizes)
    cells = [h3.int_to_str(int(c)) for c in ids]
    wkb = np.asarray(cells_to_wkb_polygons(ids).to_pylist(), dtype=object)  # x = lon, y = lat
    areas = np.asarray(h3ronpy.cells_area_km2(ids).to_pylist(), dtype=float)
    return cells, shapely.from_wkb(wkb), areas


def _frame(
    cells: list[str], counts: npt.ArrayLike, areas: npt.ArrayLike, geoms: Any
) -> gpd.GeoDataFrame:
    counts = np.asarray(counts, dtype=np.int64)
    areas = np.asarray(areas, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_km2 = np.where(areas > 0, counts / areas, np.nan)
    return gpd.GeoDataFrame(
        {"cell": cells, "count": counts, "area_km2": areas, "per_km2": per_km2},
        geometry=list(geoms),
        crs=WGS84,
    )


def aggregate_h3(
    points: gpd.GeoDataFrame, resolution: int = 9, *, study_area: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Count points per H3 hexagon.

    Parameters
    ----------
    points : GeoDataFrame
        Points in EPSG:4326.
    resolution : int
        H3 resolution, 7 (about 5.2 km² per cell) to 10 (about 0.015 km²); 9 is about
        0.105 km² (edge ≈ 200 m).
    study_area : shapely geometry, optional
        A lon/lat (multi)polygon; every cell whose centre lies in it is returned, with
        ``count = 0`` when empty (hot-spot statistics need the empty cells too). Without it only
        cells holding points are returned.

    Returns
    -------
    GeoDataFrame
        ``cell`` (H3 index string), ``count``, ``area_km2`` (H3's spherical area), ``per_km2``,
        hexagon polygons in EPSG:4326; sorted by cell.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([120.0, 120.0001, 120.05], [30.0, 30.0, 30.05]), crs=4326)
    >>> out = aggregate_h3(pts, 9)
    >>> out[["cell", "count"]].to_dict("records")
    [{'cell': '89309a490b3ffff', 'count': 1}, {'cell': '894196799d3ffff', 'count': 2}]
    """
    x, y = lonlat(points)
    _check_resolution(resolution)
    ids, counts = np.unique(h3_cells(x, y, resolution), return_counts=True)
    if study_area is not None:
        empty = np.array(
            [h3.str_to_int(c) for c in h3.geo_to_cells(study_area, resolution)], dtype=np.uint64
        )
        empty = np.setdiff1d(empty, ids)
        ids = np.concatenate([ids, empty])
        counts = np.concatenate([counts, np.zeros(len(empty), dtype=counts.dtype)])
    cells, polygons, areas = _hexagons(ids)
    order = np.argsort(np.asarray(cells))
    return _frame([cells[i] for i in order], counts[order], areas[order], polygons[order])


def aggregate_square(
    points: gpd.GeoDataFrame,
    size_m: float = 250.0,
    *,
    crs: CRS | str | int | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Count points per square cell of ``size_m`` metres in a projected CRS.

    Cells are aligned on multiples of ``size_m`` from the CRS's origin, so the same cell has the
    same id in every run: ``"<size>m:<column>:<row>"``.

    Parameters
    ----------
    points : GeoDataFrame
        Points in EPSG:4326.
    size_m : float
        Cell edge in metres (10 to 10,000).
    crs : CRS-like, optional
        The projected (metric) CRS of the grid; the UTM zone of the data when not given.
    study_area : shapely geometry, optional
        A lon/lat (multi)polygon; every cell whose centre lies in it is returned (empty ones
        with ``count = 0``).

    Returns
    -------
    GeoDataFrame
        ``cell``, ``count``, ``area_km2``, ``per_km2``, square polygons reprojected to
        EPSG:4326, with the grid's CRS in ``attrs["grid_crs"]``.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([120.0, 120.0005], [30.0, 30.0]), crs=4326)
    >>> out = aggregate_square(pts, 250, crs="EPSG:32651")
    >>> out[["cell", "count"]].to_dict("records")
    [{'cell': '250m:842:13290', 'count': 2}]
    """
    x, y = lonlat(points)
    if not 10 <= size_m <= 10_000:
        raise AnalysisInputError(f"square cells of {size_m} m: use 10 to 10,000 m")
    grid_crs = CRS(crs) if crs is not None else metric_crs(x, y)
    if not grid_crs.is_projected:
        raise AnalysisInputError(f"{grid_crs.name} is not a projected (metric) CRS")
    mx, my = _project(x, y, grid_crs)
    ix, iy = np.floor(mx / size_m).astype(np.int64), np.floor(my / size_m).astype(np.int64)
    keys, counts = np.unique(np.column_stack([ix, iy]), axis=0, return_counts=True)
    by_key = {(int(a), int(b)): int(n) for (a, b), n in zip(keys, counts, strict=True)}
    if study_area is not None:
        for key in _squares_in(study_area, size_m, grid_crs):
            by_key.setdefault(key, 0)
    ordered = sorted(by_key)
    ij = np.array(ordered, dtype=np.int64).reshape(-1, 2)
    boxes = shapely.box(
        ij[:, 0] * size_m, ij[:, 1] * size_m, (ij[:, 0] + 1) * size_m, (ij[:, 1] + 1) * size_m
    )
    geoms = gpd.GeoSeries(boxes, crs=grid_crs).to_crs(WGS84)
    label = f"{size_m:g}m"
    out = _frame(
        [f"{label}:{i}:{j}" for i, j in ordered],
        [by_key[k] for k in ordered],
        np.full(len(ordered), size_m * size_m / 1e6),
        geoms.values,
    )
    out.attrs["grid_crs"] = grid_crs.to_string()
    return out


def _project(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], crs: CRS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    from pyproj import Transformer

    there = Transformer.from_crs(WGS84, crs, always_xy=True)
    mx, my = there.transform(x, y)
    return np.asarray(mx, dtype=float), np.asarray(my, dtype=float)


def _squares_in(area: shapely.Geometry, size_m: float, crs: CRS) -> list[tuple[int, int]]:
    metric = gpd.GeoSeries([area], crs=WGS84).to_crs(crs).iloc[0]
    x0, y0, x1, y1 = metric.bounds
    i = np.arange(np.floor(x0 / size_m), np.floor(x1 / size_m) + 1, dtype=np.int64)
    j = np.arange(np.floor(y0 / size_m), np.floor(y1 / size_m) + 1, dtype=np.int64)
    gi, gj = (g.ravel() for g in np.meshgrid(i, j))
    inside = shapely.contains_xy(metric, (gi + 0.5) * size_m, (gj + 0.5) * size_m)
    return list(zip(gi[inside].tolist(), gj[inside].tolist(), strict=True))


def aggregate_areas(
    points: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    key: str | None = None,
    crs: CRS | str | int | None = None,
) -> gpd.GeoDataFrame:
    """Count points per administrative area, with rates per km² and per 1,000 households.

    Parameters
    ----------
    points : GeoDataFrame
        Points in EPSG:4326.
    areas : GeoDataFrame
        Polygons in EPSG:4326 with a unique ``code``; optional ``name`` and ``households``
        (a household count loaded with the boundaries; missing or zero gives no rate).
    key : str, optional
        A column of ``points`` already holding each point's area code (cases store the code
        they were resolved to); without it points are joined to the areas covering them (a
        point on a shared border goes to the lowest code).
    crs : CRS-like, optional
        The projected CRS the areas are measured in; the data's UTM zone when not given.

    Returns
    -------
    GeoDataFrame
        One row per area (empty ones with ``count = 0``): ``cell`` (the code), ``name``,
        ``count``, ``area_km2``, ``per_km2``, ``households``, ``per_1000_households`` and the
        area's polygon.

    Examples
    --------
    >>> from shapely import box
    >>> areas = gpd.GeoDataFrame({"code": ["A", "B"], "households": [2000, None]},
    ...     geometry=[box(120.0, 30.0, 120.01, 30.01), box(120.01, 30.0, 120.02, 30.01)], crs=4326)
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([120.005] * 3, [30.005] * 3), crs=4326)
    >>> aggregate_areas(pts, areas)[["cell", "count", "per_1000_households"]].values.tolist()
    [['A', 3, 1.5], ['B', 0, nan]]
    """
    x, y = lonlat(points)
    if "code" not in areas.columns or areas.crs is None or CRS(areas.crs).to_epsg() != 4326:
        raise AnalysisInputError("areas need a 'code' column and EPSG:4326 polygons")
    codes = areas["code"].astype(str).to_numpy()
    if len(set(codes)) != len(codes):
        raise AnalysisInputError("area codes are not unique")
    if key is not None:
        counts = pd.Series(points[key]).value_counts()
        count = np.array([int(counts.get(c, 0)) for c in codes], dtype=np.int64)
    else:
        order = np.argsort(codes, kind="stable")
        tree = shapely.STRtree(np.asarray(areas.geometry.values)[order])
        pi, ai = tree.query(shapely.points(x, y), predicate="covered_by")
        first = pd.Series(ai).groupby(pi).min().to_numpy()  # lowest code per point
        count = np.zeros(len(codes), dtype=np.int64)
        np.add.at(count, order[first], 1)
    grid_crs = CRS(crs) if crs is not None else metric_crs(*_bounds_xy(areas))
    area_km2 = areas.geometry.to_crs(grid_crs).area.to_numpy() / 1e6
    out = _frame(list(codes), count, area_km2, areas.geometry.values)
    out.insert(1, "name", areas["name"].to_numpy() if "name" in areas else "")
    hh = pd.to_numeric(areas.get("households", pd.Series(np.nan, index=areas.index)))
    hh = hh.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(hh > 0, count / hh * 1000.0, np.nan)
    out.insert(5, "households", hh)
    out.insert(6, "per_1000_households", rate)
    out.attrs["grid_crs"] = grid_crs.to_string()
    return out.sort_values("cell", ignore_index=True)


def _bounds_xy(gdf: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    x0, y0, x1, y1 = gdf.total_bounds
    return [x0, x1], [y0, y1]
