"""Read boundary files into one canonical GeoDataFrame (``code``, ``name``, ``parent_code``).

Anything GDAL reads is accepted through pyogrio (GeoJSON, GeoPackage, Shapefile, zipped
Shapefile...). The result is EPSG:4326 with MultiPolygons; geometry and hierarchy problems are
left in place for :func:`gis.validation.validate_layer` to report with feature codes.

Network access
--------------
Imports never touch the network (no SSRF through a crafted file). No single GDAL switch turns
networking off, so there are three layers:

1. Paths that are URLs (``scheme://``) or name a network file system (``/vsicurl/``,
   ``/vsis3/``, ``/vsigs/``, ``/vsiaz/``, ``/vsiadls/``, ``/vsioss/``, ``/vsiswift/``,
   ``/vsihdfs/``, ``/vsiwebhdfs/``, ``_streaming`` forms) are refused; anything else must exist
   locally, which rules out connection strings (``PG:``, ``WFS:``). VRT, GDALG and WFS files,
   also inside a ``.zip``, are refused when they reference a URL, a network file system or a
   database/service connection string.
2. ``CPL_VSIL_CURL_ALLOWED_FILENAME`` (and ``..._EXTENSIONS``) name a file that cannot exist:
   every ``/vsicurl/``-family handler (``/vsis3/`` etc. included) checks it before any request,
   so a ``/vsicurl/`` source nested in a VRT fails to open.
3. Drivers that download by themselves (GeoJSON given a URL, WFS, OAPIF, GML schemas) use
   ``CPLHTTPFetch``, which ignores that allow-list: ``GDAL_HTTP(S)_PROXY`` send them to
   ``127.0.0.1:0``, which refuses at once (1 s time-outs, no retries), and
   ``GML_DOWNLOAD_SCHEMA`` is off. A ``NO_PROXY`` environment variable matching the host would
   bypass that proxy, hence layer 1. ``GDAL_DISABLE_READDIR_ON_OPEN`` blocks nothing (it only
   skips directory listings) and is not used.

These are process-wide GDAL options, re-applied on every call.

Coordinate reference systems
----------------------------
The CRS comes from the file (``.prj``, GeoPackage, the GeoJSON ``crs`` member: GDAL honours the
legacy ``{"type": "name", ...}`` form, e.g. ``urn:ogc:def:crs:EPSG::4490``); ``src_crs``
overrides it. GeoJSON without ``crs`` is EPSG:4326 (RFC 7946), so projected coordinates there
are caught by a lon/lat range check. CGCS2000 (EPSG:4490) is relabelled EPSG:4326 without
transforming: the frames differ by centimetres, below boundary accuracy, and PROJ only has a
null ("ballpark") transformation between them. Projected CGCS2000 (Gauss-Krüger EPSG:4513-4554)
is un-projected to EPSG:4490, then relabelled.
"""

from __future__ import annotations

import codecs
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError
from shapely.errors import ShapelyError

from gis.exceptions import BoundaryFileError
from gis.sources import OFFLINE_GDAL_CONFIG, choose_layer, first_line, local_source

__all__ = ["CANONICAL_FIELDS", "read_boundaries"]

log = logging.getLogger(__name__)

CANONICAL_FIELDS = ("code", "name", "parent_code")
"""Attribute columns every boundary frame starts with, in this order."""

_WGS84 = CRS.from_epsg(4326)
_CGCS2000 = CRS.from_epsg(4490)
_CHUNK = 5_000
_INTEGRAL_TEXT = re.compile(r"^[+-]?\d+\.0*$")


def read_boundaries(
    path: str | os.PathLike[str],
    *,
    fields: Mapping[str, str] | None = None,
    encoding: str | None = None,
    src_crs: str | None = None,
    file_layer: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_features: int | None = None,
    max_vertices: int | None = None,
    optional: tuple[str, ...] = ("parent_code",),
    open_options: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a local boundary file into a canonical EPSG:4326 GeoDataFrame.

    Parameters
    ----------
    path
        A local file or folder GDAL can read, or a ``.zip`` holding one (a Shapefile may sit in
        a sub-folder). URLs and network virtual file systems are refused.
    fields
        Canonical name -> source column, e.g. ``{"code": "XZQDM", "name": "XZQMC"}``. Keys are
        ``code``, ``name`` and ``parent_code``; unmapped keys use a column of the same name
        (exact match first, then case-insensitive). ``parent_code`` may be absent.
    encoding
        Attribute encoding overriding ``.cpg``/GDAL detection, e.g. ``"GBK"`` for a Chinese
        Shapefile without a ``.cpg`` file.
    src_crs
        CRS of the coordinates (anything pyproj accepts, e.g. ``"EPSG:4549"``); overrides the
        file's own and is required when the file has none.
    file_layer
        Layer to read when the source holds several (GeoPackage, folder of Shapefiles).
    progress
        Called as ``progress(done, total)`` while geometries are converted.
    max_features, max_vertices
        Caps on the file: its feature count is checked before any geometry is read, its
        total vertex count before any is converted; ``None`` for no cap.
    optional
        Canonical fields that may be absent from the file (then all ``None``) unless mapped
        explicitly in ``fields``; the gazetteer (:mod:`places.gazetteer`) reads files whose
        rows may have no code.
    open_options
        GDAL dataset open options, e.g. ``{"X_POSSIBLE_NAMES": "lon,x"}`` for a CSV file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``name``, ``parent_code`` (stripped strings or ``None``), then every
        other source column lower-cased with JSON-serialisable values, then ``geometry``:
        MultiPolygons in 2D, EPSG:4326. Non-polygonal, empty and missing geometries are kept
        as they are (missing and unreadable ones as ``None``) so validation can report them.

    Raises
    ------
    BoundaryFileError
        When the path is remote or missing, the file cannot be read or is over a cap, a
        required column is missing, the CRS is absent or unusable, or the coordinates are out
        of lon/lat range.

    Examples
    --------
    >>> import json, tempfile
    >>> ring = [[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.2]]
    >>> feature = {"type": "Feature", "properties": {"XZQDM": 330106001, "XZQMC": "西湖街道"},
    ...            "geometry": {"type": "Polygon", "coordinates": [ring]}}
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/towns.geojson", "w", encoding="utf-8") as f:
    ...     json.dump({"type": "FeatureCollection", "features": [feature]}, f)
    >>> towns = read_boundaries(f"{folder}/towns.geojson",
    ...                         fields={"code": "XZQDM", "name": "XZQMC"})
    >>> towns.loc[0, ["code", "name", "parent_code"]].tolist()
    ['330106001', '西湖街道', None]
    >>> towns.geometry.iloc[0].geom_type, towns.crs.to_epsg()
    ('MultiPolygon', 4326)
    """
    label = os.fspath(path)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise BoundaryFileError(f"unknown encoding {encoding!r}") from exc
    target_crs = _parse_crs(src_crs) if src_crs is not None else None
    source = local_source(label, file_layer)
    pyogrio.set_gdal_config_options(OFFLINE_GDAL_CONFIG)
    layer = choose_layer(source, file_layer, label)
    if max_features is not None:
        _check_feature_count(source, layer, label, max_features)
    try:
        frame = gpd.read_file(
            source,
            engine="pyogrio",
            layer=layer,
            encoding=encoding,
            on_invalid="ignore",
            **dict(open_options or {}),
        )
    except UnicodeDecodeError as exc:
        raise BoundaryFileError(f"cannot read {label}: text is not UTF-8; pass --encoding") from exc
    except (RuntimeError, OSError, ValueError, LookupError, ShapelyError) as exc:
        raise BoundaryFileError(f"cannot read {label}: {first_line(exc)}") from exc

    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise BoundaryFileError(
            f"{label} has no geometry (a CSV file needs longitude/latitude or x/y columns, or "
            "a WKT column)"
        )
    if max_vertices is not None:
        vertices = int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum())
        if vertices > max_vertices:
            raise BoundaryFileError(
                f"{label} has {vertices:,} vertices, more than the {max_vertices:,} allowed; "
                "simplify it or split it into several imports"
            )
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    mapping = _resolve_fields(columns, fields, label, optional)
    if target_crs is None:
        if frame.crs is None:
            raise BoundaryFileError(f"{label} has no CRS; pass --src-crs")
        target_crs = CRS.from_user_input(frame.crs)
    geometry = gpd.GeoSeries(_to_multipolygons(frame.geometry.to_numpy(), progress), crs=target_crs)
    geometry = _to_wgs84(geometry, target_crs, label)

    data: dict[str, pd.Series] = {}
    for key in CANONICAL_FIELDS:
        column = mapping[key]
        values = frame[column].tolist() if column is not None else [None] * len(frame)
        data[key] = pd.Series([_normalise_code(v, key != "name") for v in values], dtype=object)
    extras = [c for c in columns if c not in mapping.values()]
    for column, name in zip(extras, _extra_names(extras), strict=True):
        data[name] = pd.Series([_jsonable(v) for v in frame[column].tolist()], dtype=object)
    attributes = pd.DataFrame(data, index=pd.RangeIndex(len(frame)))
    return gpd.GeoDataFrame(
        attributes, geometry=geometry.reset_index(drop=True), crs=_WGS84.to_string()
    )


def _check_feature_count(source: str, layer: str | int | None, label: str, cap: int) -> None:
    """Refuse a file with more than ``cap`` features before reading any geometry."""
    try:
        count = int(pyogrio.read_info(source, layer=layer)["features"])
    except (RuntimeError, OSError, ValueError) as exc:
        raise BoundaryFileError(f"cannot read {label}: {first_line(exc)}") from exc
    if count > cap:
        raise BoundaryFileError(
            f"{label} has {count:,} features, more than the {cap:,} allowed in one import"
        )


def _extra_names(columns: list[str]) -> list[str]:
    """Lower-cased names; clashes (with each other or canonical ones) get ``_2``, ``_3``..."""
    lowered = Counter(c.lower() for c in columns)
    reserved = {*CANONICAL_FIELDS, "geometry"}
    taken = reserved | {name for name, n in lowered.items() if n == 1}
    names = []
    for column in columns:
        name = column.lower()
        if lowered[name] > 1 or name in reserved:
            name = next(f"{name}_{n}" for n in range(2, 10**6) if f"{name}_{n}" not in taken)
            taken.add(name)
        names.append(name)
    return names


def _parse_crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except ProjCRSError as exc:
        raise BoundaryFileError(f"invalid --src-crs {text!r}: {first_line(exc)}") from exc


def _resolve_fields(
    columns: list[str],
    fields: Mapping[str, str] | None,
    label: str,
    optional: tuple[str, ...] = ("parent_code",),
) -> dict[str, str | None]:
    """Map each canonical field to a source column (``None`` for an absent ``parent_code``)."""
    wanted = dict(fields or {})
    unknown = sorted(set(wanted) - set(CANONICAL_FIELDS))
    if unknown:
        raise BoundaryFileError(
            f"unknown field name(s) {', '.join(unknown)}; expected {', '.join(CANONICAL_FIELDS)}"
        )
    mapping: dict[str, str | None] = {}
    for key in CANONICAL_FIELDS:
        source = wanted.get(key, key)
        column = source if source in columns else None
        if column is None:
            folded = [c for c in columns if c.casefold() == source.casefold()]
            column = folded[0] if len(folded) == 1 else None
        if column is None and (key not in optional or key in wanted):
            raise BoundaryFileError(
                f"{label} has no column {source!r} for {key}; "
                f"available columns: {', '.join(columns) or 'none'}"
            )
        mapping[key] = column
    return mapping


def _is_cgcs2000(crs: CRS) -> bool:
    geodetic = crs.geodetic_crs
    if geodetic is None:
        return False
    if geodetic.to_epsg() == 4490 or geodetic.equals(_CGCS2000, ignore_axis_order=True):
        return True
    datum = re.sub(r"[^a-z0-9]", "", geodetic.datum.name.lower()) if geodetic.datum else ""
    return datum in {"china2000", "dchina2000", "chinageodeticcoordinatesystem2000"}


def _to_wgs84(geometry: gpd.GeoSeries, crs: CRS, label: str) -> gpd.GeoSeries:
    """Bring ``geometry`` (in ``crs``) to EPSG:4326; CGCS2000 is relabelled, not shifted."""
    if _is_cgcs2000(crs):
        if not crs.equals(_CGCS2000, ignore_axis_order=True):
            geometry = geometry.to_crs(_CGCS2000)
        geometry = geometry.set_crs(_WGS84, allow_override=True)
    elif crs.equals(_WGS84, ignore_axis_order=True):
        geometry = geometry.set_crs(_WGS84, allow_override=True)
    else:
        transformer = Transformer.from_crs(crs, _WGS84, always_xy=True)
        if "ballpark" in (transformer.description or "").lower():
            log.warning("%s: no datum shift from %s to WGS 84 is known; expect errors of tens "
                        "of metres", label, crs.name)  # fmt: skip
        geometry = geometry.to_crs(_WGS84)
    west, south, east, north = geometry.total_bounds
    in_range = -180 <= west <= east <= 180 and -90 <= south <= north <= 90
    if not in_range and not np.isnan([west, south, east, north]).all():
        raise BoundaryFileError(
            f"{label}: coordinates fall outside longitude/latitude range when read as "
            f"{crs.name}; the CRS is wrong or missing, pass --src-crs"
        )
    return geometry


def _to_multipolygons(geoms: np.ndarray, progress: Callable[[int, int], None] | None) -> np.ndarray:
    """Force 2D and wrap Polygons as MultiPolygons; other geometry types pass through."""
    total = len(geoms)
    out = np.empty(total, dtype=object)
    empty = shapely.from_wkt("MULTIPOLYGON EMPTY")
    for start in range(0, total, _CHUNK):
        chunk = shapely.force_2d(np.asarray(geoms[start : start + _CHUNK], dtype=object))
        types = shapely.get_type_id(chunk)
        blank = shapely.is_empty(chunk) & np.isin(types, (3, 6))
        polygons = (types == 3) & ~blank
        chunk[polygons] = shapely.multipolygons(
            chunk[polygons], indices=np.arange(int(polygons.sum()))
        )
        chunk[blank] = empty
        out[start : start + len(chunk)] = chunk
        if progress is not None:
            progress(start + len(chunk), total)
    if progress is not None and total == 0:
        progress(0, 0)
    return out


def _normalise_code(value: Any, code: bool = True) -> str | None:
    """Stripped text of a code or name; integral numbers lose their ``.0``; blanks are None.

    For codes, text such as ``"330106001.0"`` (a spreadsheet round trip) loses the ``.0`` too.
    """
    value = _jsonable(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if code and _INTEGRAL_TEXT.match(text):
        text = text.split(".", 1)[0]
    return text or None


def _jsonable(value: Any) -> Any:
    """Convert a pandas/numpy/GDAL attribute value to a JSON-serialisable Python value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    return str(value)
