"""Local hot and cold spots on aggregated cells: Getis-Ord Gi* and Local Moran's I (PySAL esda).

Inference (both statistics): ``permutations`` conditional random permutations of the values
over the other cells; the z-score is the statistic's distance from the permutation mean in
permutation standard deviations (esda's ``z_sim``) and the p-value is two-sided from the
normal distribution (``2 * esda.p_z_sim``). With ``permutations=0`` the analytical z-score
(``Zs`` / ``z_norm``, as ArcGIS's Hot Spot Analysis computes it) is used instead. The
pseudo p-value ``(larger + 1) / (permutations + 1)`` is reported too (``p_sim``) but not used
for classes: its floor of 1/(permutations+1) would make a false-discovery-rate correction over
thousands of cells reject almost nothing.

Multiple testing: with ``fdr=True`` (the default), each confidence level's threshold is the
Benjamini-Hochberg cut-off of all cells' p-values at that level (:func:`esda.fdr`), as ArcGIS's
"Apply False Discovery Rate (FDR) Correction" does.

Classes (ArcGIS's ``Gi_Bin``): ``±3`` significant at 99 %, ``±2`` at 95 %, ``±1`` at 90 %,
``0`` not significant; the sign is the sign of z (+ hot, − cold).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from esda.getisord import G_Local
from esda.moran import Moran_Local
from esda.util import fdr as fdr_cutoff
from libpysal.weights import W
from scipy import stats

from gis.grids import AnalysisInputError

#: (Gi_Bin magnitude, confidence): the ArcGIS classes.
LEVELS = ((3, 0.99), (2, 0.95), (1, 0.90))
#: esda's Moran quadrant numbers → cluster (HH, LL) and outlier (HL, LH) labels.
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def confidence_bins(
    z: npt.ArrayLike, p: npt.ArrayLike, *, fdr: bool = True
) -> npt.NDArray[np.int8]:
    """ArcGIS-style ``Gi_Bin`` classes from z-scores and two-sided p-values.

    Parameters
    ----------
    z, p : array_like
        z-scores and their two-sided p-values, one per cell.
    fdr : bool
        Benjamini-Hochberg thresholds per confidence level (:func:`esda.fdr`) instead of the
        plain 0.10 / 0.05 / 0.01.

    Returns
    -------
    ndarray of int8
        -3..3: the sign of z times the highest level reached (3 = 99 %, 2 = 95 %, 1 = 90 %).

    Examples
    --------
    >>> confidence_bins([3.0, -2.0, 1.7, 0.5], [0.003, 0.046, 0.089, 0.62], fdr=False).tolist()
    [3, -2, 1, 0]
    """
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    if z.shape != p.shape:
        raise AnalysisInputError("z and p differ in length")
    level = np.zeros(z.shape, dtype=np.int8)
    if not z.size:
        return level
    finite = np.isfinite(p)
    for magnitude, confidence in reversed(LEVELS):
        alpha = 1.0 - confidence
        cut = fdr_cutoff(p[finite], alpha) if fdr else alpha
        hit = finite & (p < cut) if fdr else finite & (p <= cut)
        level[hit] = magnitude
    signed: npt.NDArray[np.int8] = (np.sign(np.nan_to_num(z)) * level).astype(np.int8)
    return signed


def _values(cells: gpd.GeoDataFrame, column: str, w: W) -> npt.NDArray[np.float64]:
    if column not in cells.columns:
        raise AnalysisInputError(f"no column {column!r} to analyse")
    if "cell" not in cells.columns or list(cells["cell"]) != list(w.id_order):
        raise AnalysisInputError("the weights' ids must be the cells' 'cell' column, in order")
    y: npt.NDArray[np.float64] = cells[column].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise AnalysisInputError(f"{column!r} has missing or non-finite values")
    if len(y) < 3:
        raise AnalysisInputError("at least 3 cells are needed")
    if not any(w.cardinalities.values()):  # esda's permutations fail on it; nothing to compare
        raise AnalysisInputError(
            "no cell has a neighbour: a local statistic has nothing to compare"
        )
    return y


def _two_sided(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(2.0 * stats.norm.sf(np.abs(z)), dtype=float)


def gi_star(
    cells: gpd.GeoDataFrame,
    w: W,
    *,
    column: str = "count",
    permutations: int = 999,
    fdr: bool = True,
    seed: int = 12345,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* per cell: where high (hot) or low (cold) values cluster.

    Gi* of a cell compares the sum of the values in its neighbourhood *including itself*
    (``esda.G_Local(star=True)``, binary weights) with what the whole study area would give.

    Parameters
    ----------
    cells : GeoDataFrame
        One row per cell with ``cell`` ids in the order of ``w`` and the ``column`` to test.
    w : libpysal.weights.W
        The stated neighbourhood (see :mod:`gis.neighbours`).
    column : str
        The value per cell (counts, or a rate).
    permutations : int
        Conditional permutations for inference (0: the analytical z-score).
    fdr : bool
        Benjamini-Hochberg correction per confidence level.
    seed : int
        Seed of the permutations (results are reproducible).

    Returns
    -------
    GeoDataFrame
        A copy of ``cells`` with ``gi_z``, ``gi_p`` (two-sided, the one classes use),
        ``gi_p_sim`` (pseudo p-value; NaN without permutations) and ``gi_bin`` (-3..3). With
        permutations, a cell whose statistic no permutation can change (one without
        neighbours) is not tested: NaN z and p, bin 0.

    Examples
    --------
    >>> import h3
    >>> from gis.neighbours import h3_ring
    >>> centre = "89309a41aabffff"
    >>> ids = sorted(h3.grid_disk(centre, 4))
    >>> cells = gpd.GeoDataFrame({"cell": ids,
    ...     "count": [20 if h3.grid_distance(c, centre) <= 1 else 1 for c in ids]})
    >>> out = gi_star(cells, h3_ring(ids, 1), permutations=99)
    >>> int(out.loc[out.cell == centre, "gi_bin"].iloc[0])
    3
    """
    y = _values(cells, column, w)
    if permutations < 0:
        raise AnalysisInputError("permutations must be 0 or more")
    g = G_Local(y, w, transform="B", permutations=permutations, star=True, seed=seed, n_jobs=1)
    if permutations:
        z = np.array(g.z_sim, dtype=float)
        p_sim = np.array(g.p_sim, dtype=float)
        # a cell whose permutations cannot change its statistic (no neighbours: G* is its own
        # share, whatever is drawn) has no test: esda's z is ±inf or NaN there (0 spread)
        untestable = ~np.isfinite(z)
        z[untestable], p_sim[untestable] = np.nan, np.nan
    else:
        z, p_sim = np.asarray(g.Zs, dtype=float), np.full(len(y), np.nan)
    p = _two_sided(z)
    out = cells.copy()
    out["gi_z"], out["gi_p"], out["gi_p_sim"] = z, p, p_sim
    out["gi_bin"] = confidence_bins(z, p, fdr=fdr)
    out.attrs["neighbourhood"] = getattr(w, "description", "")
    return out


def local_moran(
    cells: gpd.GeoDataFrame,
    w: W,
    *,
    column: str = "count",
    permutations: int = 999,
    fdr: bool = True,
    alpha: float = 0.05,
    seed: int = 12345,
) -> gpd.GeoDataFrame:
    """Local Moran's I per cell: clusters (HH, LL) and outliers (HL, LH).

    Row-standardised weights (``esda.Moran_Local``, ``transformation="r"``). A cell's label is
    its quadrant of the Moran scatterplot — High value among High neighbours (HH), Low among
    Low (LL), High among Low (HL), Low among High (LH) — when significant at ``alpha``
    (Benjamini-Hochberg corrected with ``fdr``), else ``"ns"``.

    Parameters
    ----------
    cells : GeoDataFrame
        One row per cell with ``cell`` ids in the order of ``w`` and the ``column`` to test.
    w : libpysal.weights.W
        The stated neighbourhood.
    column, fdr, seed
        As in :func:`gi_star`.
    permutations : int
        Conditional permutations (at least 99; esda has no analytical local moments).
    alpha : float
        Significance level of the labels.

    Returns
    -------
    GeoDataFrame
        A copy of ``cells`` with ``moran_i``, ``moran_z``, ``moran_p`` (two-sided),
        ``moran_p_sim``, ``moran_q`` (1 HH, 2 LH, 3 LL, 4 HL) and ``moran_label``.

    Examples
    --------
    >>> import h3
    >>> from gis.neighbours import h3_ring
    >>> centre = "89309a41aabffff"
    >>> ids = sorted(h3.grid_disk(centre, 4))
    >>> cells = gpd.GeoDataFrame({"cell": ids,
    ...     "count": [20 if h3.grid_distance(c, centre) <= 1 else 1 for c in ids]})
    >>> out = local_moran(cells, h3_ring(ids, 1), permutations=99)
    >>> out.loc[out.cell == centre, "moran_label"].iloc[0]
    'HH'
    """
    y = _values(cells, column, w)
    if not 0 < alpha < 1:
        raise AnalysisInputError("alpha must be between 0 and 1")
    if permutations < 99:
        raise AnalysisInputError("Local Moran's I needs at least 99 permutations")
    m = Moran_Local(y, w, transformation="r", permutations=permutations, seed=seed, n_jobs=1)
    z, p_sim = np.asarray(m.z_sim, dtype=float), np.asarray(m.p_sim, dtype=float)
    p = _two_sided(z)
    cut = fdr_cutoff(p, alpha) if fdr else alpha
    significant = p < cut if fdr else p <= cut
    q = np.asarray(m.q, dtype=np.int8)
    out = cells.copy()
    out["moran_i"], out["moran_z"], out["moran_p"], out["moran_p_sim"] = m.Is, z, p, p_sim
    out["moran_q"] = q
    out["moran_label"] = np.where(significant, [QUADRANTS.get(int(v), "ns") for v in q], "ns")
    out.attrs["neighbourhood"] = getattr(w, "description", "")
    return out
