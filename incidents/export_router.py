"""``GET /api/v1/cases.{csv,xlsx,gpkg}``: the principal's cases, re-importable, no personal
data (see :mod:`incidents.export`)."""

from __future__ import annotations

import itertools
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import Connection
from starlette.background import BackgroundTask

from accounts.router import CurrentPrincipal
from incidents import export
from shudi.database import db_connection

router = APIRouter(prefix="/api/v1", tags=["cases"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}


def _filter(
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    town: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
) -> export.ExportFilter:
    """from/to: ISO 8601 (without an offset: the district's local time); status repeatable."""
    local = [t if t is None or t.tzinfo else t.replace(tzinfo=export.LOCAL) for t in (since, until)]
    return export.ExportFilter(
        since=local[0], until=local[1], status=status or None, town=town, type_code=type
    )


Where = Annotated[export.ExportFilter, Depends(_filter)]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@router.get("/cases.csv", response_class=StreamingResponse)
def cases_csv(principal: CurrentPrincipal, where: Where) -> StreamingResponse:
    """The cases this principal may see as CSV (UTF-8 with BOM), streamed."""
    chunks = export.stream_csv(principal=principal, where=where)
    # the query runs for the first chunk, before the answer starts: its errors (a value the
    # database refuses, the database gone) are answered by the error map, not a broken 200/500
    first = next(chunks, b"")
    return StreamingResponse(
        itertools.chain([first], chunks),
        media_type="text/csv; charset=utf-8",
        headers=_attachment("cases.csv"),
    )


def _file(conn: Connection, principal: CurrentPrincipal, where: Where, fmt: str) -> FileResponse:
    fd, name = tempfile.mkstemp(suffix=f".{fmt}", prefix="shudi-export-")
    os.close(fd)
    path = Path(name)
    path.unlink()  # the writers create the file (GDAL will not open an empty one)
    try:
        export.write_export(conn, principal=principal, where=where, fmt=fmt, path=path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA[fmt],
        headers=_attachment(f"cases.{fmt}"),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/cases.xlsx", response_class=FileResponse)
def cases_xlsx(conn: Conn, principal: CurrentPrincipal, where: Where) -> FileResponse:
    """The cases this principal may see as an Excel workbook (formula-like cells escaped)."""
    return _file(conn, principal, where, "xlsx")


@router.get("/cases.gpkg", response_class=FileResponse)
def cases_gpkg(conn: Conn, principal: CurrentPrincipal, where: Where) -> FileResponse:
    """The cases this principal may see as a GeoPackage (points, EPSG:4326, layer ``cases``)."""
    return _file(conn, principal, where, "gpkg")
