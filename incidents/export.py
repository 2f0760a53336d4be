"""Exporting cases as CSV, Excel or GeoPackage, in the layout ``shudi cases import`` reads.

An export re-imported into an empty district with the same boundaries yields the same cases
(type, status, reported time, position, territory): the columns are the importer's canonical
ones (``external_id`` is the tracking code, so re-importing twice adds nothing twice), followed
by columns the importer ignores and recomputes (territory codes, handler).

Decisions
    * No personal data, for any role: reporters' names, phone numbers and e-mails are not in
      these exports (they live in sealed columns this module never reads). The description is
      the case's own text, as staff see it on the case.
    * Which cases: the principal's own scope (:func:`incidents.access.visibility`); the CLI,
      run by the operator, exports every case.
    * Times are ISO 8601 with the +08:00 offset (what the importer reads without loss); from/to
      select on the reported time (``created_at``), ``from`` included, ``to`` excluded.
    * CSV streams row by row from a server-side cursor (constant memory); Excel and GeoPackage
      are written to a file first, in batches (their formats need the whole file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access
from incidents.exceptions import InvalidExportFilter
from incidents.models import STATUSES

LOCAL = ZoneInfo("Asia/Shanghai")
COLUMNS = (
    "external_id", "type", "status", "reported_at", "closed_at", "lon", "lat", "crs",
    "description", "type_name", "town_code", "community_code", "property_area_code",
    "handler_party", "handler_unit_code",
)  # fmt: skip
FORMATS = ("csv", "xlsx", "gpkg")
#: Spreadsheet programs run a cell starting with these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2_000


@dataclass(frozen=True)
class ExportFilter:
    """Which cases: reported in [since, until), in these statuses, town, type."""

    since: datetime | None = None
    until: datetime | None = None
    status: Sequence[str] | None = None
    town: str | None = None
    type_code: str | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.status or () if s not in STATUSES]
        if unknown:
            raise InvalidExportFilter(
                f"未知的状态 {unknown[0]!r}（可用：{'、'.join(STATUSES)}）", status=unknown[0]
            )
        if self.since and self.until and self.since >= self.until:
            raise InvalidExportFilter("起始时间（from）应早于截止时间（to）")


def _query(principal: Principal | None, f: ExportFilter) -> tuple[str, dict[str, Any]]:
    where, params = access.content_visibility(principal) if principal else ("TRUE", {})
    sql = f"""SELECT c.tracking_code, c.type_code, c.status, c.created_at, c.lon, c.lat,
                     c.description, vt.name_zh, c.town_code, c.community_code,
                     c.property_area_code, c.handler_party, c.handler_unit_code,
                     CASE WHEN c.status IN ('resolved', 'closed', 'rejected')
                          THEN coalesce(c.closed_at, c.resolved_at, c.updated_at) END AS ended
              FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
              WHERE {where}
                AND (CAST(:status AS text[]) IS NULL OR c.status = ANY(CAST(:status AS text[])))
                AND (CAST(:type AS text) IS NULL OR c.type_code = :type)
                AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
                AND (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
                AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until)
              ORDER BY c.id"""
    return sql, params | {
        "status": list(f.status) if f.status else None,
        "type": f.type_code,
        "town": f.town,
        "since": f.since,
        "until": f.until,
    }


def _when(value: datetime | None) -> str:
    return value.astimezone(LOCAL).isoformat() if value else ""


def export_rows(
    conn: Connection, *, principal: Principal | None, where: ExportFilter
) -> Iterator[tuple[Any, ...]]:
    """The rows of the export (``COLUMNS`` order), read ``BATCH`` at a time from a
    server-side cursor; ``conn`` must be in a transaction while the rows are read."""
    sql, params = _query(principal, where)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(text(sql), params)
    for r in result:
        yield (
            r.tracking_code, r.type_code, r.status, _when(r.created_at), _when(r.ended),
            repr(r.lon), repr(r.lat), "wgs84", r.description, r.name_zh, r.town_code or "",
            r.community_code or "", r.property_area_code or "", r.handler_party,
            r.handler_unit_code or "",
        )  # fmt: skip


def csv_chunks(rows: Iterator[tuple[Any, ...]], *, per_chunk: int = 500) -> Iterator[bytes]:
    """CSV (UTF-8 with a BOM, so Excel opens it as UTF-8) in chunks of ``per_chunk`` rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    buf.write("\ufeff")
    writer.writerow(COLUMNS)
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % per_chunk == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def safe_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` (shown as
    text); numbers are written as numbers, so ``-3`` stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_xlsx(rows: Iterator[tuple[Any, ...]], path: Path) -> int:
    """An Excel workbook of the rows, sheet ``cases`` (streamed, the cells openpyxl's
    write-only sheet would hold: :mod:`incidents.xlsx_sheet`); rows written."""
    from incidents.xlsx_sheet import write_sheet

    lon_at, lat_at = COLUMNS.index("lon"), COLUMNS.index("lat")

    def cells() -> Iterator[list[Any]]:
        yield list(COLUMNS)
        for row in rows:
            out = [safe_cell(v) for v in row]
            out[lon_at], out[lat_at] = float(row[lon_at]), float(row[lat_at])
            yield out

    return write_sheet(path, title="cases", rows=cells()) - 1


def write_gpkg(rows: Iterator[tuple[Any, ...]], path: Path, *, per_batch: int = 20_000) -> int:
    """A GeoPackage layer ``cases`` of points (EPSG:4326) with the export's columns, written
    ``per_batch`` rows at a time (appended), so memory does not grow with the export."""
    import geopandas as gpd
    import pandas as pd
    from shapely import points

    n = 0
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        frame = pd.DataFrame(batch, columns=list(COLUMNS))
        geometry = points(frame["lon"].astype(float), frame["lat"].astype(float))
        gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
        gdf.to_file(path, layer="cases", driver="GPKG", engine="pyogrio", append=n > len(batch))
        batch.clear()

    for row in rows:
        batch.append(row)
        n += 1
        if len(batch) == per_batch:
            flush()
    if batch or n == 0:
        flush()
    return n


def write_export(
    conn: Connection, *, principal: Principal | None, where: ExportFilter, fmt: str, path: Path
) -> int:
    """Write the export in ``fmt`` (csv, xlsx, gpkg) to ``path``; how many cases it holds."""
    rows = export_rows(conn, principal=principal, where=where)
    if fmt == "xlsx":
        return write_xlsx(rows, path)
    if fmt == "gpkg":
        return write_gpkg(rows, path)
    n = 0

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal n
        for row in rows:
            n += 1
            yield row

    with path.open("wb") as fh:
        for chunk in csv_chunks(counted()):
            fh.write(chunk)
    return n


def stream_csv(*, principal: Principal, where: ExportFilter) -> Iterator[bytes]:
    """The CSV export for an HTTP response: its own connection and transaction, held while
    the body is sent, rows read in batches (constant memory whatever the size)."""
    from shudi.database import get_engine

    with get_engine().connect() as conn, conn.begin():
        yield from csv_chunks(export_rows(conn, principal=principal, where=where))
