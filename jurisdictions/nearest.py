"""The nearest town border of points outside every town, in a few array operations.

The towns' rings are cut into segments, in a frame whose x is scaled by cos(latitude) (locally
equidistant). A grid covers the towns' extent with a margin; each cell keeps the segments that
can be nearest to some point of the cell: those whose distance from the cell's centre is at
most the smallest such distance plus the cell's diagonal (for a point p of the cell, with r
half the diagonal, the nearest segment s* has d(p, s*) ≤ m + r, where m is the centre's
smallest distance, so d(centre, s*) ≤ m + 2r). The candidates are found with a tree of the
segments and kept as one flat array with each cell's start (a cell keeps as many as it needs).
A point is then measured against its cell's few candidates only, all points at once: one row
per (point, candidate) pair, the smallest distance per point. Points beyond the grid are left
to the caller (a tree query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

#: Cells along each side of the grid.
CELLS = 256
#: The grid reaches this share of the towns' extent beyond it on every side.
MARGIN = 0.25
#: Candidates are kept up to this much (relative) beyond the bound, against rounding.
SLACK = 1e-9


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
    start: np.ndarray  # (CELLS * CELLS + 1,) where each cell's candidates begin in ``candidates``
    candidates: np.ndarray  # segment indexes, ascending within each cell

    def nearest(
        self, sx: np.ndarray, sy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For points in the scaled frame: whether the grid answers them, and for those the
        town and the nearest border point (scaled frame). Among equally near segments, the
        first (lowest index) is taken."""
        with np.errstate(invalid="ignore"):
            i = np.floor((sx - self.x0) / self.size_x)
            j = np.floor((sy - self.y0) / self.size_y)
            on = (i >= 0) & (i < CELLS) & (j >= 0) & (j < CELLS)
        cells = (j[on] * CELLS + i[on]).astype(np.intp)
        first, count = self.start[cells], self.start[cells + 1] - self.start[cells]
        on[np.flatnonzero(on)[count == 0]] = False  # (none: no towns near enough to keep)
        first, count = first[count > 0], count[count > 0]
        if not len(count):
            empty = np.zeros(0)
            return on, np.zeros(0, dtype=self.town.dtype), empty, empty
        # one row per (point, candidate): the point's row number and the segment
        row = np.repeat(np.arange(len(count)), count)
        ends = np.cumsum(count)
        offset = np.arange(len(row)) - np.repeat(ends - count, count)
        seg = self.candidates[np.repeat(first, count) + offset]
        d, qx, qy = _distances(sx[on][row], sy[on][row], self.a[seg], self.b[seg])
        # the first row of each point's smallest distance
        low = np.minimum.reduceat(d, ends - count)
        hit = np.flatnonzero(d == low[row])
        best = hit[np.unique(row[hit], return_index=True)[1]]
        return on, self.town[seg[best]], qx[best], qy[best]


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
    segments = shapely.linestrings(np.stack([a, b], axis=1))
    tree = shapely.STRtree(segments)
    centres = shapely.points(cx, cy)
    cell, nearest = tree.query_nearest(centres, all_matches=False)
    m = np.empty(len(cx))
    m[cell] = _distances(cx[cell], cy[cell], a[nearest], b[nearest])[0]
    bound = (m + reach) * (1 + SLACK)
    cell, seg = tree.query(centres, predicate="dwithin", distance=bound)
    # exactly: d(centre, s) ≤ m + reach with this module's own distance
    d = _distances(cx[cell], cy[cell], a[seg], b[seg])[0]
    keep = d <= m[cell] + reach
    cell, seg = cell[keep], seg[keep]
    order = np.lexsort((seg, cell))
    cell, seg = cell[order], seg[order]
    start = np.searchsorted(cell, np.arange(CELLS * CELLS + 1)).astype(np.intp)
    grid = (float(x0), float(y0), float(size_x), float(size_y))
    return NearestBorder(a, b, town_of, *grid, start, seg.astype(np.intp))
