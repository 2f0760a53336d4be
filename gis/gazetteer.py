"""Check a gazetteer (roads, addresses, POIs with names) before it is stored.

Read with :func:`gis.io.read_boundaries` (any format GDAL reads, any CRS and encoding, network
sources refused), then checked here feature by feature, reported as
:class:`gis.validation.Problem` like boundary problems. Rules:

* every feature has a ``name`` and a known ``kind`` (``road``, ``address``, ``poi``);
* a road is a (Multi)LineString, an address a (Multi)Point, a POI any geometry; none empty,
  all valid and within longitude/latitude range;
* no two features of one kind share a ``code`` (rows without a code get one from their kind,
  name and position: :func:`derived_code`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gis.validation import Problem

__all__ = ["GAZETTEER_KINDS", "PROBLEM_KINDS", "derived_code", "infer_kind", "validate_gazetteer"]

GAZETTEER_KINDS = ("road", "address", "poi")
PROBLEM_KINDS = (
    "missing_name", "unknown_kind", "empty_geometry", "wrong_geometry", "invalid_geometry",
    "out_of_range", "duplicate_code",
)  # fmt: skip
_GEOMETRY = {
    "road": ("LineString", "MultiLineString"),
    "address": ("Point", "MultiPoint"),
    "poi": ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
}
_KIND_WORDS = {
    "road": "road", "street": "road", "道路": "road", "路": "road", "街": "road",
    "address": "address", "addr": "address", "门牌": "address", "地址": "address",
    "poi": "poi", "兴趣点": "poi", "地名": "poi",
}  # fmt: skip


def infer_kind(value: Any, geometry: Any) -> str | None:
    """The kind a row names (``road``, 道路, ``address``, 门牌 …), or the one its geometry
    implies (lines are roads, points addresses, polygons POIs); ``None`` for an unknown word.

    >>> from shapely.geometry import Point
    >>> infer_kind(None, Point(120, 30)), infer_kind("门牌", None), infer_kind("bridge", None)
    ('address', 'address', None)
    """
    if isinstance(value, str) and value.strip():
        return _KIND_WORDS.get(value.strip().lower())
    if geometry is None or geometry.is_empty:
        return "poi"
    kind = geometry.geom_type
    if "LineString" in kind:
        return "road"
    return "address" if "Point" in kind else "poi"


def derived_code(kind: str, name: str, geometry: Any) -> str:
    """A stable code for a row that has none: its kind and a hash of its name and position."""
    where = shapely.to_wkb(geometry) if geometry is not None else b""
    digest = hashlib.sha1(name.encode() + b"\0" + where).hexdigest()[:12]
    return f"{kind}-{digest}"


def _label(i: int, code: Any, name: Any) -> str:
    text = f"row {i + 1}"
    if isinstance(code, str) and code:
        text += f" ({code})"
    elif isinstance(name, str) and name:
        text += f" ({name!r})"
    return text


def validate_gazetteer(gdf: gpd.GeoDataFrame) -> tuple[list[Problem], list[bool]]:
    """Problems of a gazetteer frame with ``code``, ``name``, ``kind`` and geometry columns
    (``kind`` already one of :data:`GAZETTEER_KINDS` or ``None`` when unknown), and which rows
    are fit to store."""
    problems: list[Problem] = []
    good = [True] * len(gdf)
    codes = gdf["code"].tolist()
    names = gdf["name"].tolist()
    kinds = gdf["kind"].tolist()
    geoms = gdf.geometry.tolist()
    for i, (code, name, kind, geom) in enumerate(zip(codes, names, kinds, geoms, strict=True)):
        label = _label(i, code, name)
        mine = (code,) if isinstance(code, str) and code else ()
        found: list[tuple[str, str]] = []
        if not isinstance(name, str) or not name.strip() or name is pd.NA:
            found.append(("missing_name", f"{label} has no name"))
        if kind not in GAZETTEER_KINDS:
            found.append(("unknown_kind", f"{label} has an unknown kind (road, address or poi)"))
        if geom is None or geom.is_empty:
            found.append(("empty_geometry", f"{label} has no geometry"))
        elif kind in _GEOMETRY and geom.geom_type not in _GEOMETRY[kind]:
            found.append(("wrong_geometry", f"{label} is a {geom.geom_type}, not a {kind}"))
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            found.append(("invalid_geometry", f"{label} is not valid: {reason}"))
        else:
            west, south, east, north = geom.bounds
            if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
                found.append(("out_of_range", f"{label} is outside longitude/latitude range"))
        where = None
        if geom is not None and not geom.is_empty:
            pt = shapely.point_on_surface(geom)
            where = (float(pt.x), float(pt.y))
        for problem_kind, message in found:
            problems.append(Problem(problem_kind, mine, message, where, "error"))
        good[i] = not found
    counts = Counter(
        (k, c) for k, c, ok in zip(kinds, codes, good, strict=True) if ok and isinstance(c, str)
    )
    for (kind, code), n in sorted(counts.items()):
        if n > 1:
            message = f"code {code} is used by {n} {kind} features"
            problems.append(Problem("duplicate_code", (code,), message, None, "error"))
            for i, (k, c) in enumerate(zip(kinds, codes, strict=True)):
                if k == kind and c == code:
                    good[i] = False
    problems.sort(key=lambda p: PROBLEM_KINDS.index(p.kind))
    return problems, good
