"""``shudi places import``: load a gazetteer file (roads, addresses, POIs with names).

Any format GDAL reads (GeoJSON, GeoPackage, Shapefile, zipped Shapefile) and CSV with
coordinate columns (``lon``/``lat``, ``x``/``y``, ``经度``/``纬度`` …) or a ``WKT`` column; any
CRS (``--src-crs`` when the file has none; a CSV without one is taken as WGS-84 and checked)
and any encoding (``--encoding GBK``). Read by :func:`gis.io.read_boundaries` (network
sources refused, CGCS2000 relabelled, projected coordinates un-projected), validated by
:func:`gis.gazetteer.validate_gazetteer`. A file with a bad row is refused as a whole, listing
the problems, unless ``skip_bad``: then the good rows are stored and the bad ones reported.
A dataset is replaced as a whole when imported again under the same name.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import Connection

from gis.exceptions import BoundaryFileError
from gis.gazetteer import derived_code, infer_kind, validate_gazetteer
from gis.io import read_boundaries
from gis.validation import Problem
from places import store
from shudi.exceptions import DomainError

CSV_OPTIONS = {
    "X_POSSIBLE_NAMES": "lon,lng,longitude,x,经度,point_x",
    "Y_POSSIBLE_NAMES": "lat,latitude,y,纬度,point_y",
    "GEOM_POSSIBLE_NAMES": "wkt,geom,geometry",
    "KEEP_GEOM_COLUMNS": "NO",
    "AUTODETECT_TYPE": "NO",
}
FIELDS = ("code", "name", "kind")


class GazetteerRejected(DomainError):
    """The gazetteer file has bad rows (``details["problems"]``) and was not stored."""


@dataclass
class GazetteerImport:
    dataset: str
    stored: int
    by_kind: dict[str, int]
    skipped: list[Problem] = field(default_factory=list)


def read_gazetteer(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    fields: Mapping[str, str] | None = None,
    encoding: str | None = None,
    src_crs: str | None = None,
    file_layer: str | None = None,
    max_features: int | None = None,
) -> gpd.GeoDataFrame:
    """The file as a WGS-84 frame with ``code``, ``name``, ``kind`` and geometry; rows
    without a code get :func:`gis.gazetteer.derived_code`, rows without a kind (and with no
    ``kind`` given) the one their geometry implies."""
    fields = dict(fields or {})
    csv = Path(os.fspath(path)).suffix.lower() in (".csv", ".tsv", ".txt")
    with tempfile.TemporaryDirectory(prefix="shudi-gazetteer-") as scratch:
        if csv and encoding and _codec(encoding) != "utf-8":
            # GDAL matches the coordinate column names before any decoding: hand it UTF-8
            path, encoding = _utf8_copy(Path(os.fspath(path)), encoding, Path(scratch)), None
        frame = _read(path, csv, fields, encoding, src_crs, file_layer, max_features)
    return _shape(frame, kind, fields)


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise BoundaryFileError(f"unknown encoding {encoding!r}") from exc


def _utf8_copy(path: Path, encoding: str, folder: Path) -> Path:
    try:
        text = path.read_bytes().decode(encoding)
    except FileNotFoundError as exc:
        raise BoundaryFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise BoundaryFileError(f"cannot read {path}: the text is not {encoding}") from exc
    copy = folder / path.name
    copy.write_text(text, encoding="utf-8")
    return copy


def _read(
    path: str | os.PathLike[str],
    csv: bool,
    fields: dict[str, str],
    encoding: str | None,
    src_crs: str | None,
    file_layer: str | None,
    max_features: int | None,
) -> gpd.GeoDataFrame:
    return read_boundaries(
        path,
        fields={k: v for k, v in fields.items() if k in ("code", "name")},
        encoding=encoding,
        src_crs=src_crs if src_crs or not csv else "EPSG:4326",
        file_layer=file_layer,
        max_features=max_features,
        optional=("code", "parent_code"),
        open_options=CSV_OPTIONS if csv else None,
    )


def _shape(frame: gpd.GeoDataFrame, kind: str | None, fields: dict[str, str]) -> gpd.GeoDataFrame:
    kind_column = fields.get("kind", "kind").lower()
    if "kind" in fields and kind_column not in frame.columns:
        raise BoundaryFileError(f"the file has no column {fields['kind']!r} for kind")
    given = frame[kind_column].tolist() if kind_column in frame.columns else [None] * len(frame)
    geoms = frame.geometry.tolist()
    kinds = [
        kind if kind else infer_kind(value, geom) for value, geom in zip(given, geoms, strict=True)
    ]
    codes = [
        code if code else derived_code(k or "poi", str(name or ""), geom)
        for code, name, k, geom in zip(frame["code"], frame["name"], kinds, geoms, strict=True)
    ]
    extras = [c for c in frame.columns if c not in ("code", "name", "parent_code", "geometry")]
    out = gpd.GeoDataFrame(
        {"code": codes, "name": frame["name"].tolist(), "kind": kinds},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    out["attrs"] = [
        {c: v for c, v in zip(extras, row, strict=True) if v is not None and c != kind_column}
        for row in frame[extras].itertuples(index=False, name=None)
    ]
    return out


def import_gazetteer(
    conn: Connection,
    *,
    gdf: gpd.GeoDataFrame,
    dataset: str,
    source: str = "",
    skip_bad: bool = False,
) -> GazetteerImport:
    """Validate a frame from :func:`read_gazetteer` and store it as ``dataset`` (replacing a
    dataset of that name). Raises :class:`GazetteerRejected` on any bad row unless
    ``skip_bad``."""
    dataset = dataset.strip()
    if not dataset:
        raise GazetteerRejected("a gazetteer dataset needs a name", problems=[])
    problems, good = validate_gazetteer(gdf)
    if problems and not skip_bad:
        raise GazetteerRejected(
            f"{len(problems)} problem(s) in the gazetteer; nothing stored "
            "(fix the file, or pass --skip-bad to store the good rows)",
            problems=problems,
        )
    keep = gdf[good]
    rows = [
        {
            "kind": k,
            "code": c,
            "name": str(n).strip(),
            "wkt": shapely.to_wkt(g, rounding_precision=8),
            "attrs": a,
        }
        for k, c, n, g, a in zip(
            keep["kind"], keep["code"], keep["name"], keep.geometry, keep["attrs"], strict=True
        )
    ]
    stored = store.replace_dataset(conn, dataset=dataset, source=source, rows=rows)
    by_kind: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
    return GazetteerImport(dataset=dataset, stored=stored, by_kind=by_kind, skipped=problems)
