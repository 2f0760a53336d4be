"""A cell grid over a set of areas, so that most points are answered by one array lookup.

The grid covers the areas' extent with a margin of one cell. A cell is *near a border* when
some area's border (outer ring, hole or exclave's ring) passes through it or one of its eight
neighbours; those cells are marked ``-1`` and their points get the exact test. Every other
cell lies wholly inside or wholly outside each area, and so does every cell of the 4-connected
region of such cells it belongs to (moving from one to the next crosses no border): each region
is classified once, by the exact test on one cell centre, and its cells hold that answer.

The border cells are found conservatively: each ring is densified so that consecutive vertices
are at most half a cell apart, the cells of those vertices are marked, and the mark is widened
by one cell. A segment between two such vertices stays within the 3 × 3 cells around either
end, so a cell that a border touches is always marked (also for a point whose computed cell is
off by a rounding error: the border would then pass within that error of the cell).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

#: Cells along the grid's longer side (2048² cells of int32 take 16 MiB).
CELLS_PER_SIDE = 2048

#: The value of a cell near a border (its points need the exact test).
NEAR_BORDER = -1


@dataclass(frozen=True)
class CellGrid:
    """Square cells of ``size`` degrees from (``x0``, ``y0``); ``cells[j, i]`` is the answer
    id of cell (i, j), or :data:`NEAR_BORDER`."""

    x0: float
    y0: float
    size: float
    cells: np.ndarray

    def lookup(self, xs: np.ndarray, ys: np.ndarray, outside: int) -> np.ndarray:
        """Per point, its cell's answer id; ``outside`` for points off the grid (no area
        reaches there) or not finite; :data:`NEAR_BORDER` where the exact test is needed."""
        ny, nx = self.cells.shape
        with np.errstate(invalid="ignore"):
            i = np.floor((xs - self.x0) / self.size)
            j = np.floor((ys - self.y0) / self.size)
            on = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        out = np.full(len(xs), outside, dtype=np.int64)
        out[on] = self.cells[j[on].astype(np.intp), i[on].astype(np.intp)]
        return out


def build_grid(
    geoms: np.ndarray, classify: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> CellGrid | None:
    """The grid of ``geoms`` (polygons, lon/lat); ``classify(xs, ys)`` gives the exact answer
    ids of points (one per region of cells). None when there is nothing to grid."""
    if not len(geoms):
        return None
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    span = max(xmax - xmin, ymax - ymin)
    if not np.isfinite(span) or span <= 0:
        return None
    size = span / (CELLS_PER_SIDE - 2)
    x0, y0 = xmin - size, ymin - size
    nx = int(np.ceil((xmax - xmin) / size)) + 3
    ny = int(np.ceil((ymax - ymin) / size)) + 3
    vertices = shapely.get_coordinates(shapely.segmentize(geoms, size / 2))
    i = np.clip(np.floor((vertices[:, 0] - x0) / size).astype(np.intp), 0, nx - 1)
    j = np.clip(np.floor((vertices[:, 1] - y0) / size).astype(np.intp), 0, ny - 1)
    near = np.zeros((ny, nx), dtype=bool)
    near[j, i] = True
    near = ndimage.binary_dilation(near, structure=np.ones((3, 3), dtype=bool))
    labels, count = ndimage.label(~near)
    values, first = np.unique(labels.ravel(), return_index=True)
    first = first[values > 0]  # one cell per region (label 0 is the border cells)
    cj, ci = np.divmod(first, nx)
    answers = np.asarray(classify(x0 + (ci + 0.5) * size, y0 + (cj + 0.5) * size))
    table = np.empty(count + 1, dtype=np.int32)
    table[0] = NEAR_BORDER
    table[1:] = answers
    return CellGrid(x0=float(x0), y0=float(y0), size=float(size), cells=table[labels])
