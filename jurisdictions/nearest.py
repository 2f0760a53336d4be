"""The nearest town border of points outside every town, in a few array operations.

The towns' rings are cut into segments, in a frame whose x is scaled by cos(latitude) (locally
equidistant). A coarse grid covers the towns' extent with a margin; each cell keeps the
segments that can be nearest to some point of the cell: those whose distance from the cell's
centre is at most the smallest such distance plus the cell's diagonal (for a point p of the
cell, with r half the diagonal, the nearest segment s* has d(p, s*) ≤ m + r, where m is the
centre's smallest distance, so d(centre, s*) ≤ m + 2r). A point is then measured against its
cell's few candidates only. Points beyond the grid are left to the caller (a tree query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

#: Cells along each side of the coarse grid.
CELLS = 64
#: Cells with more candidate segments than this are left to the caller's tree.
MAX_CANDIDATES = 24
#: The grid reaches this share of the towns' extent beyond it on every side.
MARGIN = 0.25


def _distances(
    px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance from points (px, py) to segments a→b (broadcast), and the nearest points."""
    dx, dy = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px - a[..., 0]) * dx + (py - a[..., 1]) * dy) / length2
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    qx, qy = a[..., 0] + t * dx, a[..., 1] + t * dy
    return np.hypot(px - qx, py - qy), qx, qy


@dataclass(frozen=True)
class NearestBorder:
    """Town border segments (scaled frame), their towns, and the candidates per cell."""

    a: np.ndarray  # (S, 2) segment starts
    b: np.ndarray  # (S, 2) segment ends
    town: np.ndarray  # (S,) the town (index into the index's areas) of each segment
    x0: float
    y0: float
    size_x: float
    size_y: float
    candidates: np.ndarray  # (CELLS * CELLS, K) segment indexes, -1 for none

    def nearest(
        self, sx: np.ndarray, sy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For points in the scaled frame: whether the grid answers them, and for those the
        town and the nearest border point (scaled frame)."""
        i = np.floor((sx - self.x0) / self.size_x)
        j = np.floor((sy - self.y0) / self.size_y)
        on = (i >= 0) & (i < CELLS) & (j >= 0) & (j < CELLS)
        flat = np.where(on, j * CELLS + i, 0).astype(np.intp)
        on &= self.candidates[flat, 0] >= 0
        cells = flat[on]
        cand = self.candidates[cells]  # (P, K)
        safe = np.where(cand >= 0, cand, 0)
        d, qx, qy = _distances(sx[on, None], sy[on, None], self.a[safe], self.b[safe])
        d = np.where(cand >= 0, d, np.inf)
        best = np.argmin(d, axis=1)
        rows = np.arange(len(best))
        seg = cand[rows, best]
        return on, self.town[seg], qx[rows, best], qy[rows, best]


def build_nearest(geoms: np.ndarray, towns: np.ndarray, scale: float) -> NearestBorder | None:
    """The lookup for the towns ``geoms[towns]`` in the frame with x scaled by ``scale``."""
    starts, ends, owner = [], [], []
    for town in towns.tolist():
        for ring in shapely.get_rings(shapely.get_parts(geoms[town])):
            coords = shapely.get_coordinates(ring) * [scale, 1.0]
            starts.append(coords[:-1])
            ends.append(coords[1:])
            owner.append(np.full(len(coords) - 1, town))
    if not starts:
        return None
    a, b, town_of = np.concatenate(starts), np.concatenate(ends), np.concatenate(owner)
    lo = np.minimum(a, b).min(axis=0)
    hi = np.maximum(a, b).max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    x0, y0 = lo - MARGIN * span
    size_x, size_y = span * (1 + 2 * MARGIN) / CELLS
    jj, ii = np.divmod(np.arange(CELLS * CELLS), CELLS)
    cx, cy = x0 + (ii + 0.5) * size_x, y0 + (jj + 0.5) * size_y
    reach = np.hypot(size_x, size_y)  # twice half the diagonal
    rows = []
    for chunk in np.array_split(np.arange(len(cx)), max(1, len(cx) * len(a) // 4_000_000)):
        d, _, _ = _distances(cx[chunk, None], cy[chunk, None], a[None], b[None])
        keep = d <= d.min(axis=1, keepdims=True) + reach
        rows += [np.flatnonzero(k) for k in keep]
    width = min(max(len(r) for r in rows), MAX_CANDIDATES)
    candidates = np.full((len(rows), width), -1, dtype=np.int32)
    for n, r in enumerate(rows):
        if len(r) <= width:  # a cell with more is left to the caller's tree
            candidates[n, : len(r)] = r
    grid = (float(x0), float(y0), float(size_x), float(size_y))
    return NearestBorder(a, b, town_of, *grid, candidates)
