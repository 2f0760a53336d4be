"""Emerging hot spots: each cell's Gi* series over time bins, its trend, and its category.

Per time bin, Gi* (analytical z, as ArcGIS's space-time cube does; FDR-corrected per bin) is
computed on the same cells and neighbourhood (:func:`gis.local_statistics.gi_star`). A cell
counts as a *hot* (*cold*) spot in a bin when its ``gi_bin`` is ≥ 1 (≤ -1), i.e. significant at
90 %.
The trend of each cell's z series is the Mann-Kendall test (two-sided, ties corrected,
continuity correction) at ``trend_alpha`` (0.05).

Categories, following ArcGIS Pro's Emerging Hot Spot Analysis (for cold spots read cold for
hot); "most bins" means at least 90 % of the bins; the rules are checked in this order:

=============  ==============================================================================
new            hot in the final bin only, never before
consecutive    one uninterrupted run of ≥ 2 hot bins ending with the final bin, never hot
               before the run, and hot in fewer than 90 % of the bins
intensifying   hot in ≥ 90 % of the bins including the final one, z trend significantly up
persistent     hot in ≥ 90 % of the bins including the final one, no significant z trend
diminishing    hot in ≥ 90 % of the bins including the final one, z trend significantly down
sporadic       hot in the final bin, on and off before, in fewer than 90 % of the bins, never
               cold
oscillating    hot in the final bin, cold in some earlier bin, hot in fewer than 90 % of bins
historical     not hot in the final bin, but hot in ≥ 90 % of the bins
no_pattern     none of the above
=============  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from libpysal.weights import W
from scipy import stats

from gis.grids import AnalysisInputError
from gis.local_statistics import gi_star

MOST = 0.9


def mann_kendall(series: npt.ArrayLike) -> tuple[float, float]:
    """Mann-Kendall trend test of one series: (z, two-sided p).

    Examples
    --------
    >>> z, p = mann_kendall([1, 2, 3, 4, 5, 6, 7, 8])
    >>> round(z, 2), p < 0.01
    (3.34, True)
    >>> mann_kendall([1, 1, 1, 1])
    (0.0, 1.0)
    """
    x = np.asarray(series, dtype=float)
    n = x.size
    if n < 3:
        return 0.0, 1.0
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18.0
    if var <= 0 or s == 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / np.sqrt(var)
    return float(z), float(2.0 * stats.norm.sf(abs(z)))


def _run_at_end(flags: npt.NDArray[np.bool_]) -> int:
    """Length of the run of True ending at the last element."""
    run = 0
    for value in flags[::-1]:
        if not value:
            break
        run += 1
    return run


Rule = Callable[[npt.NDArray[np.bool_], npt.NDArray[np.bool_], float, float], bool]


def _rules(trend_alpha: float) -> tuple[tuple[str, Rule], ...]:
    def most(on: npt.NDArray[np.bool_]) -> bool:
        return bool(on.mean() >= MOST)

    def up(z: float, p: float) -> bool:
        return p < trend_alpha and z > 0

    def down(z: float, p: float) -> bool:
        return p < trend_alpha and z < 0

    return (
        ("new", lambda on, off, z, p: bool(on[-1] and not on[:-1].any())),
        (
            "consecutive",
            lambda on, off, z, p: bool(
                on[-1]
                and _run_at_end(on) >= 2
                and not on[: len(on) - _run_at_end(on)].any()
                and not most(on)
            ),
        ),
        ("intensifying", lambda on, off, z, p: bool(on[-1] and most(on) and up(z, p))),
        ("diminishing", lambda on, off, z, p: bool(on[-1] and most(on) and down(z, p))),
        ("persistent", lambda on, off, z, p: bool(on[-1] and most(on))),
        ("sporadic", lambda on, off, z, p: bool(on[-1] and not most(on) and not off.any())),
        ("oscillating", lambda on, off, z, p: bool(on[-1] and not most(on) and off[:-1].any())),
        ("historical", lambda on, off, z, p: bool(not on[-1] and most(on))),
    )


def classify(
    bins: Sequence[int], z_trend: float, p_trend: float, *, trend_alpha: float = 0.05
) -> str:
    """The emerging category of one cell from its Gi_Bin series and z-trend (see module notes).

    Returns ``"<category>_hot"``, ``"<category>_cold"`` or ``"no_pattern"``.

    Examples
    --------
    >>> classify([0, 0, 0, 0, 2], 1.0, 0.3)
    'new_hot'
    >>> classify([1, 2, 2, 3, 3, 3, 3, 3, 3, 3], 2.9, 0.004)
    'intensifying_hot'
    >>> classify([-1, 0, -2, 0, -1], -0.2, 0.8)
    'sporadic_cold'
    >>> classify([0, 0, 0, 0, 0], 0.0, 1.0)
    'no_pattern'
    """
    b = np.asarray(bins)
    for sign, suffix in ((1, "hot"), (-1, "cold")):
        on, off = (b * sign) >= 1, (b * sign) <= -1
        for name, rule in _rules(trend_alpha):
            if rule(on, off, z_trend * sign, p_trend):
                return f"{name}_{suffix}"
    return "no_pattern"


def emerging_hotspots(
    cells: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    w: W,
    *,
    fdr: bool = True,
    trend_alpha: float = 0.05,
) -> gpd.GeoDataFrame:
    """Emerging hot-spot categories of cells from their counts per time bin.

    Parameters
    ----------
    cells : GeoDataFrame
        The cells (``cell`` ids in the order of ``w``).
    counts : DataFrame
        One row per cell, one column per time bin in time order (missing cells count 0);
        at least 4 bins.
    w : libpysal.weights.W
        The stated neighbourhood.
    fdr : bool
        Benjamini-Hochberg correction of each bin's Gi* classes.
    trend_alpha : float
        Significance level of the Mann-Kendall trend.

    Returns
    -------
    GeoDataFrame
        ``cells`` with ``trend_z``, ``trend_p`` (Mann-Kendall of the Gi* z series),
        ``hot_bins``, ``cold_bins`` (how many bins were hot / cold), ``final_bin`` (Gi_Bin in the
        last time bin) and ``category``.

    Examples
    --------
    >>> import h3
    >>> from gis.neighbours import h3_ring
    >>> centre = "89309a41aabffff"
    >>> ids = sorted(h3.grid_disk(centre, 4))
    >>> near = [h3.grid_distance(c, centre) <= 1 for c in ids]
    >>> rng = np.random.default_rng(0)  # ring 1 around the centre grows, the rest stays
    >>> counts = pd.DataFrame(
    ...     {t: rng.poisson([20 + 4 * t if n else 10 for n in near]) for t in range(10)}, index=ids)
    >>> cells = gpd.GeoDataFrame({"cell": ids})
    >>> out = emerging_hotspots(cells, counts, h3_ring(ids, 1))
    >>> out.loc[out.cell == centre, "category"].iloc[0]
    'intensifying_hot'
    """
    if counts.shape[1] < 4:
        raise AnalysisInputError("emerging hot spots need at least 4 time bins")
    table = counts.reindex(list(cells["cell"])).fillna(0.0)
    z_series, bin_series = [], []
    for column in table.columns:
        frame = gpd.GeoDataFrame({"cell": list(cells["cell"]), "v": table[column].to_numpy()})
        if frame["v"].sum() == 0 or frame["v"].nunique() == 1:  # nothing to test in this bin
            z_series.append(np.zeros(len(frame)))
            bin_series.append(np.zeros(len(frame), dtype=np.int8))
            continue
        out = gi_star(frame, w, column="v", permutations=0, fdr=fdr)
        z_series.append(out["gi_z"].to_numpy())
        bin_series.append(out["gi_bin"].to_numpy())
    z_mat, bin_mat = np.column_stack(z_series), np.column_stack(bin_series)
    trends = [mann_kendall(row) for row in z_mat]
    result = cells.copy()
    result["trend_z"] = [t[0] for t in trends]
    result["trend_p"] = [t[1] for t in trends]
    result["hot_bins"] = (bin_mat >= 1).sum(axis=1)
    result["cold_bins"] = (bin_mat <= -1).sum(axis=1)
    result["final_bin"] = bin_mat[:, -1]
    result["category"] = [
        classify(b, z, p, trend_alpha=trend_alpha)
        for b, (z, p) in zip(bin_mat, trends, strict=True)
    ]
    result.attrs["neighbourhood"] = getattr(w, "description", "")
    result.attrs["bins"] = [str(c) for c in table.columns]
    return result
