"""Reading a history file (CSV, Excel or GeoJSON) into a table of text cells with line numbers.

Every cell is read as text, so that a bad value is reported as it was written, with the line
(CSV), sheet row (Excel) or feature number (GeoJSON) where it stands. Column names are matched
case-insensitively, and the usual Chinese headers of 12345 hotline exports are understood.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from incidents.exceptions import HistoryImportRejected

#: Canonical column → other headers accepted for it (compared lower-cased, spaces removed).
ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lng", "longitude", "x", "经度"),
    "lat": ("latitude", "y", "纬度"),
    "crs": ("coord_system", "坐标系"),
    "type": ("type_code", "violation_type", "类型", "问题类型", "违法类型"),
    "reported_at": ("reported", "created_at", "上报时间", "受理时间", "来电时间"),
    "closed_at": ("closed", "办结时间", "结案时间"),
    "due_at": ("deadline", "办理时限", "截止时间", "办结时限", "处理时限"),
    "status": ("state", "状态", "办理状态"),
    "description": ("desc", "content", "描述", "诉求内容", "问题描述"),
    "external_id": ("id", "case_id", "工单编号", "工单号"),
}
REQUIRED = ("lon", "lat", "type", "reported_at")
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "excel", ".xlsm": "excel"}
SUFFIXES |= {".geojson": "geojson", ".json": "geojson"}


@dataclass
class RawRows:
    """The cells of a history file as text (missing cells are empty strings)."""

    frame: pd.DataFrame  # canonical columns present in the file, all str
    lines: np.ndarray  # where each row stands in the file (see ``unit``)
    unit: str  # "line" (CSV), "row" (Excel sheet row) or "feature" (GeoJSON, 1-based)
    sha256: str


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _canonical(columns: list[str], fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map the file's headers to canonical names: ``fields`` (canonical → header, from
    ``--field``) first, then the aliases (first match wins)."""
    lookup = {c: c for c in ALIASES} | {a: c for c, names in ALIASES.items() for a in names}
    out: dict[str, str] = {}
    for name, header in (fields or {}).items():
        if name not in ALIASES:
            raise HistoryImportRejected(
                f"--field {name}=…: unknown field; use one of {', '.join(ALIASES)}", field=name
            )
        found = next((c for c in columns if str(c).strip() == header.strip()), None)
        if found is None:
            raise HistoryImportRejected(
                f"--field {name}={header}: the file has no column {header!r}; "
                f"columns found: {', '.join(map(str, columns)) or 'none'}",
                field=name,
            )
        out = {k: v for k, v in out.items() if v != name} | {found: name}
    for col in columns:
        if col in out:
            continue
        key = lookup.get(str(col).strip().lower().replace(" ", ""))
        if key and key not in out.values():
            out[col] = key
    missing = [c for c in REQUIRED if c not in out.values()]
    if missing:
        raise HistoryImportRejected(
            f"the file has no {', '.join(missing)} column(s); "
            f"columns found: {', '.join(map(str, columns)) or 'none'}",
            missing=missing,
        )
    return out


def _finish(
    frame: pd.DataFrame,
    lines: np.ndarray,
    unit: str,
    sha: str,
    fields: Mapping[str, str] | None = None,
) -> RawRows:
    mapping = _canonical(list(frame.columns), fields)
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.fillna("").astype(str)  # stripped where read, to keep the fast paths fast
    return RawRows(frame=frame.reset_index(drop=True), lines=lines, unit=unit, sha256=sha)


def _encoding_of(path: Path, encoding: str | None) -> str:
    if encoding:
        return encoding
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the block's end
            return "gb18030"  # GBK exports of Chinese spreadsheets
    return "utf-8-sig"


def read_csv(
    path: Path, *, encoding: str | None = None, fields: Mapping[str, str] | None = None
) -> RawRows:
    """A CSV file; line numbers count physical lines (quoted newlines included)."""
    enc = _encoding_of(path, encoding)
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding=enc, skip_blank_lines=False
        )
    except (UnicodeDecodeError, LookupError) as exc:
        raise HistoryImportRejected(f"{path.name}: cannot decode as {enc} ({exc})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise HistoryImportRejected(f"{path.name}: not a readable CSV file ({exc})") from exc
    blank = (frame == "").all(axis=1).to_numpy()
    breaks = np.zeros(len(frame), dtype=np.int64)
    for col in frame.columns:  # newlines inside quoted cells push later rows down
        breaks += frame[col].str.count("\n").to_numpy()
    lines = 2 + np.arange(len(frame)) + np.concatenate([[0], np.cumsum(breaks)[:-1]])
    return _finish(frame[~blank], lines[~blank], "line", file_digest(path), fields)


def read_excel(
    path: Path, *, sheet: str | None = None, fields: Mapping[str, str] | None = None
) -> RawRows:
    """The first (or the named) sheet of an .xlsx workbook; rows as numbered in the sheet."""
    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
    except (ValueError, KeyError, OSError) as exc:
        raise HistoryImportRejected(f"{path.name}: not a readable workbook ({exc})") from exc
    frame = frame.fillna("")
    blank = (frame == "").all(axis=1).to_numpy()
    lines = 2 + np.arange(len(frame))
    return _finish(frame[~blank], lines[~blank], "row", file_digest(path), fields)


def read_geojson(path: Path, *, fields: Mapping[str, str] | None = None) -> RawRows:
    """A GeoJSON FeatureCollection of points; ``lon``/``lat`` come from the geometry."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        features = doc["features"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HistoryImportRejected(f"{path.name}: not a GeoJSON FeatureCollection") from exc
    records = []
    for feat in features:
        props = dict(feat.get("properties") or {}) if isinstance(feat, dict) else {}
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if isinstance(geom, dict) and geom.get("type") == "Point" and isinstance(coords, list):
            props["lon"], props["lat"] = (coords + [None, None])[:2]
        elif geom is not None:
            props["lon"] = props["lat"] = ""  # reported as missing coordinates
        records.append(props)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=["lon", "lat"])
    frame = frame.astype(object).where(frame.notna(), "")
    frame = frame.map(lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    return _finish(frame, 1 + np.arange(len(frame)), "feature", file_digest(path), fields)


def read_rows(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> RawRows:
    """Read a history file by its suffix: .csv/.txt, .xlsx/.xlsm, .geojson/.json; ``fields``
    maps canonical names to the file's own headers (``--field due_at=办理时限``)."""
    if not path.is_file():
        raise HistoryImportRejected(f"no such file: {path}")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind == "csv":
        return read_csv(path, encoding=encoding, fields=fields)
    if kind == "excel":
        return read_excel(path, sheet=sheet, fields=fields)
    if kind == "geojson":
        return read_geojson(path, fields=fields)
    raise HistoryImportRejected(
        f"{path.name}: unknown file type; use .csv, .xlsx or .geojson", suffix=path.suffix
    )
