"""Spatial neighbourhoods (libpysal weights) of aggregation cells, each stated explicitly.

- H3 hexagons: the ring of ``k`` cells around each cell (:func:`h3.grid_disk`), binary.
- Square cells and areas: ``k`` nearest centroids, or every centroid within a distance band,
  measured in a projected (metric) CRS.

The returned weights are binary and exclude the cell itself; Gi* adds the cell (``star``).
Every weights object carries a plain-words description in ``w.description`` (echoed in API
answers), e.g. ``"H3 grid_disk k=1 (6 neighbours)"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import h3
import numpy as np
from libpysal.weights import KNN, DistanceBand, W
from pyproj import CRS

from gis.grids import AnalysisInputError, lonlat, metric_crs


def h3_ring(cells: Sequence[str], k: int = 1) -> W:
    """Binary weights: each H3 cell's neighbours are the other given cells within ``k`` rings.

    Examples
    --------
    >>> centre = "89309a41aabffff"
    >>> w = h3_ring(sorted(h3.grid_disk(centre, 1)), k=1)
    >>> w.cardinalities[centre], w.description
    (6, 'H3 grid_disk k=1')
    """
    if not 1 <= k <= 5:
        raise AnalysisInputError(f"ring k={k}: use 1 to 5")
    index = {c: i for i, c in enumerate(cells)}
    if len(index) != len(cells):
        raise AnalysisInputError("cells are not unique")
    neighbours = {c: [d for d in h3.grid_disk(c, k) if d != c and d in index] for c in cells}
    w = W(neighbours, id_order=list(cells), silence_warnings=True)
    w.description = f"H3 grid_disk k={k}"
    return w


def _centroids(cells: gpd.GeoDataFrame, crs: CRS | str | int | None) -> tuple[np.ndarray, CRS]:
    x, y = lonlat(gpd.GeoDataFrame(geometry=cells.geometry.representative_point(), crs=cells.crs))
    metric = CRS(crs) if crs is not None else metric_crs(x, y)
    if not metric.is_projected:
        raise AnalysisInputError(f"{metric.name} is not a projected (metric) CRS")
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=cells.crs).to_crs(metric)
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]), metric


def k_nearest(cells: gpd.GeoDataFrame, k: int = 8, *, crs: CRS | str | int | None = None) -> W:
    """Binary weights: each cell's ``k`` nearest cells by centroid distance in metres.

    Examples
    --------
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"cell": list("abc")},
    ...     geometry=[box(120, 30, 120.01, 30.01), box(120.01, 30, 120.02, 30.01),
    ...               box(120.05, 30, 120.06, 30.01)], crs=4326)
    >>> w = k_nearest(cells, k=1)
    >>> [str(n) for n in w.neighbors["a"]], w.description
    (['b'], 'k=1 nearest centroids (EPSG:32651)')
    """
    if not 1 <= k < max(len(cells), 2):
        raise AnalysisInputError(f"k={k} nearest of {len(cells)} cells: use 1 to n-1")
    xy, metric = _centroids(cells, crs)
    w = KNN(xy, k=k, ids=list(cells["cell"]))
    w.description = f"k={k} nearest centroids ({metric.to_string()})"
    return w


def distance_band(
    cells: gpd.GeoDataFrame, threshold_m: float, *, crs: CRS | str | int | None = None
) -> W:
    """Binary weights: every cell whose centroid lies within ``threshold_m`` metres.

    For a square grid of edge ``s``, ``threshold_m = 1.5 * s`` gives the 8 surrounding cells
    (queen contiguity without depending on shared vertices).

    Examples
    --------
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"cell": list("abc")},
    ...     geometry=[box(120, 30, 120.01, 30.01), box(120.01, 30, 120.02, 30.01),
    ...               box(120.05, 30, 120.06, 30.01)], crs=4326)
    >>> [str(n) for n in distance_band(cells, 1500).neighbors["a"]]
    ['b']
    """
    if threshold_m <= 0:
        raise AnalysisInputError("the distance band must be positive")
    xy, metric = _centroids(cells, crs)
    w = DistanceBand(
        xy, threshold=threshold_m, binary=True, ids=list(cells["cell"]), silence_warnings=True
    )
    w.description = f"distance band {threshold_m:g} m ({metric.to_string()})"
    return w
