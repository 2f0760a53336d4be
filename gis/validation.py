"""Check a boundary layer before anything is stored, reporting problems with feature codes.

Layers and their rules:

* ``town`` and ``agency_unit`` have no parent; no two features may overlap.
* ``community`` lies within its town (``parents`` = towns), siblings in one town may not overlap
  and together they should tile the town (uncovered area is a ``gap`` warning).
* ``property_area`` lies within its community (``parents`` = communities) and siblings may not
  overlap; roads run between them, so gaps are expected and not checked.

Overlaps and gaps are measured by area in a metric CRS, not with GEOS coverage checks: those need
exactly shared vertices and real borders, densified independently on each side, fail them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["KINDS", "LAYERS", "Problem", "repair", "summarise", "validate_layer"]

LAYERS = ("town", "community", "property_area", "agency_unit")
"""Layer names :func:`validate_layer` knows."""

KINDS = (
    "missing_code", "duplicate_code", "empty_geometry", "not_polygon", "invalid_geometry",
    "out_of_range", "missing_parent_code", "unknown_parent", "outside_parent", "overlap", "gap",
)  # fmt: skip
"""Every :attr:`Problem.kind`, in the order problems are reported."""

_WGS84 = CRS.from_epsg(4326)
_PARENT_LAYER = {"community": "town", "property_area": "community"}
_TILING_LAYERS = {"community"}
_NEAR_M = 0.001
_AREA_EPSILON_M2 = 0.01  # numerical noise left by difference() of a child inside the buffer
_POLYGONAL = ("Polygon", "MultiPolygon")
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found in a layer.

    Attributes
    ----------
    kind
        One of :data:`KINDS`.
    codes
        Codes of the features involved (empty when the feature has no code).
    message
        Human-readable English sentence naming the codes.
    location
        ``(lon, lat)`` of the problem, or ``None`` when there is no geometry to point at.
    severity
        ``"error"`` blocks an import; ``"warning"`` is reported only.

    Examples
    --------
    >>> Problem("gap", ("T1",), "gap of 150.0 m² in T1", (120.1, 30.2), "warning").severity
    'warning'
    """

    kind: str
    codes: tuple[str, ...]
    message: str
    location: tuple[float, float] | None
    severity: Severity


def validate_layer(
    gdf: gpd.GeoDataFrame,
    *,
    layer: str,
    parents: gpd.GeoDataFrame | None = None,
    tolerance_m: float = 1.0,
    gap_tolerance_m2: float = 100.0,
    overlap_tolerance_m2: float = 1.0,
) -> list[Problem]:
    """Find every problem in one boundary layer.

    Parameters
    ----------
    gdf
        Features with ``code`` (and, for child layers, ``parent_code``) columns, as returned by
        :func:`gis.io.read_boundaries`; EPSG:4326 (a missing CRS is taken as EPSG:4326).
    layer
        One of :data:`LAYERS`.
    parents
        The parent layer (towns for ``community``, communities for ``property_area``); without
        it the parent, containment and gap checks are skipped. Ignored for other layers.
    tolerance_m
        How far a child may stick out of its parent, in metres.
    gap_tolerance_m2
        Uncovered parent area (community layer only) above which a ``gap`` warning is raised.
    overlap_tolerance_m2
        Overlap area between two siblings above which an ``overlap`` error is raised.

    Returns
    -------
    list of Problem
        Empty when the layer is clean. Spatial checks only use features whose geometry is a
        valid, non-empty (Multi)Polygon; the others are reported once, by geometry kind.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> towns = gpd.GeoDataFrame({"code": ["T1", "T2"]}, crs="EPSG:4326",
    ...                          geometry=[box(120.0, 30.0, 120.01, 30.01),
    ...                                    box(120.005, 30.0, 120.02, 30.01)])
    >>> [(p.kind, p.codes) for p in validate_layer(towns, layer="town")]
    [('overlap', ('T1', 'T2'))]
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    if min(tolerance_m, gap_tolerance_m2, overlap_tolerance_m2) < 0:
        raise ValueError("tolerances must not be negative")
    parent_layer = _PARENT_LAYER.get(layer)
    rows = _Rows(gdf, with_parent=parent_layer is not None)
    problems, usable = _feature_problems(rows)
    uphill = _Rows(parents, with_parent=False) if parent_layer and parents is not None else None
    check = _Spatial(rows, usable, uphill)
    problems += check.overlaps(overlap_tolerance_m2)
    if parent_layer is not None:
        problems += check.parent_codes(parent_layer)
        problems += check.outside(tolerance_m)
        if layer in _TILING_LAYERS:
            problems += check.gaps(gap_tolerance_m2, layer)
    return sorted(problems, key=lambda p: (p.severity != "error", KINDS.index(p.kind)))


def repair(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Make every geometry valid, keeping only polygonal parts, as MultiPolygons.

    Used only when the user asks for it (``--repair``): :func:`shapely.make_valid` with the
    ``structure`` method (rings are re-noded; holes are subtracted from shells) and everything
    that is not a polygon dropped. A geometry with no polygonal part becomes an empty
    MultiPolygon, and missing geometries stay missing, so validation still reports them.

    Parameters
    ----------
    gdf
        Any boundary layer.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``gdf`` with repaired geometries; attributes and CRS unchanged.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    >>> fixed = repair(gpd.GeoDataFrame({"code": ["A"]}, geometry=[bow_tie]))
    >>> fixed.geometry.iloc[0].geom_type, fixed.geometry.iloc[0].is_valid
    ('MultiPolygon', True)
    >>> float(fixed.geometry.iloc[0].area)
    2.0
    """
    fixed = _make_polygonal(np.asarray(gdf.geometry.to_numpy(), dtype=object))
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
    return out


def summarise(problems: list[Problem]) -> str:
    """Format problems for the command line, one line per problem (``""`` when none).

    Examples
    --------
    >>> p = Problem("overlap", ("C1", "C2"), "C1 and C2 overlap by 12.3 m²",
    ...             (120.1234564, 30.123456), "error")
    >>> print(summarise([p]))
    ERROR overlap [C1, C2] C1 and C2 overlap by 12.3 m² at 120.123456,30.123456
    """
    lines = []
    for p in problems:
        where = f" at {p.location[0]:.6f},{p.location[1]:.6f}" if p.location else ""
        lines.append(f"{p.severity.upper()} {p.kind} [{', '.join(p.codes)}] {p.message}{where}")
    return "\n".join(lines)


class _Rows:
    """Codes, labels and EPSG:4326 geometries of one frame, as plain Python sequences."""

    def __init__(self, gdf: gpd.GeoDataFrame, *, with_parent: bool) -> None:
        frame = gdf if gdf.crs is None or CRS.from_user_input(gdf.crs).equals(_WGS84) else (
            gdf.to_crs(_WGS84))  # fmt: skip
        self.geoms: np.ndarray = np.asarray(frame.geometry.to_numpy(), dtype=object)
        self.codes = _codes(gdf, "code")
        self.parent_codes = _codes(gdf, "parent_code") if with_parent else [None] * len(gdf)
        names = gdf["name"].tolist() if "name" in gdf.columns else [None] * len(gdf)
        self.labels = [
            c if c is not None else f"feature #{i}" + (f" ({n!r})" if isinstance(n, str) else "")
            for i, (c, n) in enumerate(zip(self.codes, names, strict=True))
        ]

    def real(self, i: int) -> tuple[str, ...]:
        code = self.codes[i]
        return (code,) if code is not None else ()


class _Metric:
    """The UTM zone (WGS 84) around some lon/lat geometries, with transforms there and back.

    Like :meth:`geopandas.GeoDataFrame.estimate_utm_crs`, without a database query.
    """

    def __init__(self, lonlat: np.ndarray) -> None:
        west, south, east, north = shapely.total_bounds(lonlat) if len(lonlat) else [np.nan] * 4
        lon, lat = (west + east) / 2, (south + north) / 2
        if not (np.isfinite(lon) and np.isfinite(lat)):
            lon, lat = 0.0, 0.0
        zone = min(max(int((lon + 180) // 6) + 1, 1), 60)
        crs = CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
        self._there = Transformer.from_crs(_WGS84, crs, always_xy=True)
        self._back = Transformer.from_crs(crs, _WGS84, always_xy=True)

    def forward(self, geoms: np.ndarray) -> np.ndarray:
        """Valid metric copies of valid lon/lat geometries."""

        def move(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self._there.transform(xy[:, 0], xy[:, 1]))

        out = np.asarray(shapely.transform(geoms, move), dtype=object)
        bad = ~shapely.is_valid(out) & ~shapely.is_missing(out)  # projection can pinch spikes
        out[bad] = _make_polygonal(out[bad])
        return out

    def locate(self, geom: BaseGeometry) -> tuple[float, float] | None:
        """Lon/lat of a point inside the largest polygon of a metric geometry (or collection)."""
        parts = shapely.get_parts(shapely.get_parts(shapely.get_parts(geom)))
        parts = parts[shapely.get_type_id(parts) == 3]
        if not len(parts) or shapely.area(parts).max() <= 0:
            return None
        point = shapely.point_on_surface(parts[np.argmax(shapely.area(parts))])
        lon, lat = self._back.transform(point.x, point.y)
        return (float(lon), float(lat))


def _codes(gdf: gpd.GeoDataFrame, column: str) -> list[str | None]:
    values = gdf[column].tolist() if column in gdf.columns else [None] * len(gdf)
    blank = [v is None or v is pd.NA or v is pd.NaT or v != v for v in values]  # NaN != NaN
    return [None if b else (str(v).strip() or None) for v, b in zip(values, blank, strict=True)]


def _anchor(geom: Any) -> tuple[float, float] | None:
    """A lon/lat point on ``geom`` (which may be invalid), or None."""
    if geom is None or geom.is_empty:
        return None
    try:
        point = shapely.point_on_surface(geom)
    except GEOSException:
        point = shapely.centroid(shapely.envelope(geom))
    return (float(point.x), float(point.y))


def _polygonal(geom: Any) -> MultiPolygon:
    """The polygonal parts of ``geom`` as one MultiPolygon (empty when there are none)."""
    parts: list[Polygon] = []
    stack = [geom] if geom is not None else []
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon) and not g.is_empty:
            parts.append(g)
        elif hasattr(g, "geoms"):
            stack.extend(reversed(list(g.geoms)))
    if geom is not None and geom.geom_type == "GeometryCollection" and len(parts) > 1:
        return _polygonal(shapely.union_all(parts))
    return MultiPolygon(parts)


def _make_polygonal(geoms: np.ndarray) -> np.ndarray:
    """:func:`shapely.make_valid` (``structure`` method), polygonal parts only, in 2D."""
    geoms = shapely.force_2d(geoms)
    present = ~shapely.is_missing(geoms)
    made = shapely.make_valid(geoms[present], method="structure", keep_collapsed=False)
    out = np.full(len(geoms), None, dtype=object)
    out[present] = [_polygonal(g) for g in made]
    return out


def _in_range(geom: BaseGeometry) -> bool:
    """Whether every coordinate is a finite longitude/latitude."""
    west, south, east, north = geom.bounds
    return bool(-180 <= west <= east <= 180 and -90 <= south <= north <= 90)


def _feature_problems(rows: _Rows) -> tuple[list[Problem], np.ndarray]:
    """Per-feature problems, and the mask of features fit for spatial checks."""
    problems: list[Problem] = []
    geoms = rows.geoms
    usable = np.zeros(len(geoms), dtype=bool)
    reasons = shapely.is_valid_reason(geoms)
    for i, geom in enumerate(geoms):
        label, codes = rows.labels[i], rows.real(i)
        if not codes:
            problems.append(Problem("missing_code", (), f"{label} has no code", _anchor(geom),
                                    "error"))  # fmt: skip
        if geom is None or geom.is_empty:
            problems.append(Problem("empty_geometry", codes,
                                    f"{label} has no geometry (missing, empty or unreadable)",
                                    None, "error"))  # fmt: skip
        elif geom.geom_type not in _POLYGONAL:
            problems.append(Problem("not_polygon", codes,
                                    f"{label} is a {geom.geom_type}, not a polygon",
                                    _anchor(geom), "error"))  # fmt: skip
        elif not _in_range(geom):
            west, south, east, north = geom.bounds
            problems.append(Problem("out_of_range", codes,
                                    f"{label} has coordinates outside longitude/latitude range "
                                    f"({west:g}, {south:g} – {east:g}, {north:g}); the CRS is "
                                    "wrong or longitude and latitude are swapped",
                                    None, "error"))  # fmt: skip
        elif reasons[i] != "Valid Geometry":
            match = _REASON_POINT.search(reasons[i] or "")
            where = (float(match[1]), float(match[2])) if match else _anchor(geom)
            problems.append(Problem("invalid_geometry", codes,
                                    f"{label} is not a valid polygon: {reasons[i]}",
                                    where, "error"))  # fmt: skip
        else:
            usable[i] = True
    counts = Counter(c for c in rows.codes if c is not None)
    for code, count in counts.items():
        if count > 1:
            first = rows.codes.index(code)
            problems.append(Problem("duplicate_code", (code,),
                                    f"code {code} is used by {count} features",
                                    _anchor(geoms[first]), "error"))  # fmt: skip
    return problems, usable


class _Spatial:
    """Spatial checks on metric (UTM) copies of the usable features and of their parents."""

    def __init__(self, rows: _Rows, usable: np.ndarray, uphill: _Rows | None) -> None:
        self.rows, self.usable, self.uphill = rows, usable, uphill
        above = uphill.geoms if uphill is not None else np.empty(0, dtype=object)
        self.metric = _Metric(np.concatenate([rows.geoms[usable], above]))
        self.child_m = np.full(len(rows.geoms), None, dtype=object)
        self.child_m[usable] = self.metric.forward(rows.geoms[usable])
        self.parent_m = self.metric.forward(_make_polygonal(above))
        self.parent_m[shapely.is_missing(self.parent_m)] = MultiPolygon()
        self.link = np.full(len(rows.geoms), -1)  # row of the parent, -1 when none is usable
        self.clipped = np.full(len(rows.geoms), np.nan)  # area of each child inside its parent
        self.pairs: list[tuple[int, int, float]] = []  # siblings whose interiors meet
        codes = list(enumerate(uphill.codes)) if uphill is not None else []
        self.first = {c: j for j, c in reversed(codes) if c is not None}  # parent code -> row

    def overlaps(self, tolerance_m2: float) -> list[Problem]:
        """Sibling pairs overlapping by more than ``tolerance_m2``; STRtree finds candidates."""
        rows, idx = self.rows, np.flatnonzero(self.usable)
        geoms = self.child_m[idx]
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        siblings = np.array(rows.parent_codes, dtype=object)[idx]
        keep = (left < right) & (siblings[left] == siblings[right])
        left, right = left[keep], right[keep]
        shapely.prepare(geoms)
        interiors = ~shapely.touches(geoms[left], geoms[right])
        left, right = idx[left[interiors]], idx[right[interiors]]
        shared = shapely.intersection(self.child_m[left], self.child_m[right])
        areas = shapely.area(shared)
        self.pairs = list(zip(left.tolist(), right.tolist(), areas.tolist(), strict=True))
        return [
            Problem("overlap", (*rows.real(i), *rows.real(j)),
                    f"{rows.labels[i]} and {rows.labels[j]} overlap by {area:.1f} m²",
                    self.metric.locate(piece), "error")
            for i, j, piece, area in zip(left, right, shared, areas, strict=True)
            if area > tolerance_m2
        ]  # fmt: skip

    def parent_codes(self, parent_layer: str) -> list[Problem]:
        """Missing and unknown parent codes; links the others to their parent's row."""
        rows, problems = self.rows, []
        for i, pc in enumerate(rows.parent_codes):
            if pc is None:
                problems.append(Problem("missing_parent_code", rows.real(i),
                                        f"{rows.labels[i]} has no parent_code ({parent_layer})",
                                        _anchor(rows.geoms[i]), "error"))  # fmt: skip
            elif self.uphill is not None and pc not in self.first:
                problems.append(Problem(
                    "unknown_parent", (*rows.real(i), pc),
                    f"{rows.labels[i]} names parent {pc}, which is not among the {parent_layer}s",
                    _anchor(rows.geoms[i]), "error"))  # fmt: skip
            elif pc in self.first and not self.parent_m[self.first[pc]].is_empty:
                self.link[i] = self.first[pc]
        return problems

    def outside(self, tolerance_m: float) -> list[Problem]:
        """Children sticking out of their parent buffered by ``tolerance_m``.

        Children within 1 mm of their parent (float noise along densified borders) skip the
        overlay; for the gap screen they are assumed to lose up to 1 mm x perimeter to it.
        """
        rows, link, child_m, parent_m = self.rows, self.link, self.child_m, self.parent_m
        idx = np.flatnonzero(self.usable & (link >= 0))
        near_m = min(_NEAR_M, tolerance_m)
        near = np.full(len(parent_m), None, dtype=object)
        needed = np.unique(link[idx])
        near[needed] = shapely.buffer(parent_m[needed], near_m, quad_segs=2)
        shapely.prepare(near)
        inside = shapely.covers(near[link[idx]], child_m[idx])
        band = near_m * shapely.length(child_m[idx]) * inside
        self.clipped[idx] = shapely.area(child_m[idx]) - band
        idx = idx[~inside]
        spill = shapely.difference(child_m[idx], parent_m[link[idx]])
        self.clipped[idx] -= shapely.area(spill)
        far = shapely.area(spill) > _AREA_EPSILON_M2
        idx, spill = idx[far], spill[far]
        needed = np.unique(link[idx])
        grown = np.full(len(parent_m), None, dtype=object)
        grown[needed] = shapely.buffer(parent_m[needed], tolerance_m)
        beyond = shapely.difference(spill, grown[link[idx]])
        return [
            Problem("outside_parent", (*rows.real(i), str(rows.parent_codes[i])),
                    f"{rows.labels[i]} extends {area:.1f} m² outside its parent "
                    f"{rows.parent_codes[i]} (beyond the {tolerance_m:g} m tolerance)",
                    self.metric.locate(piece), "error")
            for i, piece, area in zip(idx, beyond, shapely.area(beyond), strict=True)
            if area > _AREA_EPSILON_M2
        ]  # fmt: skip

    def gaps(self, tolerance_m2: float, child_layer: str) -> list[Problem]:
        """Parent area left uncovered by its children (warnings).

        The uncovered area is at most ``area(parent) - sum(area(child & parent)) + sum(sibling
        overlaps)``; only parents where that bound exceeds the tolerance get an exact union.
        Parents with a child whose geometry is unusable are skipped: that child is reported.
        """
        link, kids = self.link, defaultdict(list)
        for i in np.flatnonzero(self.usable & (link >= 0)).tolist():
            kids[int(link[i])].append(i)
        overlap_sum: defaultdict[int, float] = defaultdict(float)
        for i, _, area in self.pairs:
            overlap_sum[int(link[i])] += area
        blocked = set(link[~self.usable & (link >= 0)].tolist())
        problems = []
        for code, j in sorted(self.first.items(), key=lambda item: item[1]):
            parent, mine = self.parent_m[j], kids.get(j, [])
            bound = parent.area - float(self.clipped[mine].sum()) + overlap_sum.get(j, 0.0)
            if j in blocked or parent.is_empty or bound <= tolerance_m2:
                continue
            gap = parent.difference(shapely.union_all(self.child_m[mine])) if mine else parent
            if gap.area > tolerance_m2:
                detail = f"its {len(mine)} {child_layer}(s)" if mine else f"any {child_layer}"
                problems.append(Problem("gap", (code,),
                                        f"{gap.area:.1f} m² of {code} is not covered by {detail}",
                                        self.metric.locate(gap), "warning"))  # fmt: skip
        return problems
