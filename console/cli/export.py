"""``shudi cases export``: cases as CSV, Excel or GeoPackage, re-importable."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer

from console.cli.common import fail, transaction


def _moment(value: str | None, option: str) -> datetime | None:
    """ISO 8601 date or date-time; without an offset it is the district's local time."""
    from incidents.export import LOCAL

    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (2024-01-31) or a time (2024-01-31T08:00+08:00)")
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)


def export_cases(
    fmt: str = typer.Option("csv", "--format", help="csv | xlsx | gpkg"),
    since: str | None = typer.Option(None, "--from", help="Reported at or after (ISO 8601)."),
    until: str | None = typer.Option(None, "--to", help="Reported before (ISO 8601)."),
    status: list[str] | None = typer.Option(None, help="Only this status (repeatable)."),
    town: str | None = typer.Option(None, help="Only this town's cases (town code)."),
    type_code: str | None = typer.Option(None, "--type", help="Only this violation type."),
    output: Path | None = typer.Option(
        None, help="Where to write (default: CSV on stdout, cases.xlsx / cases.gpkg here)."
    ),
) -> None:
    """Export cases in the layout `shudi cases import` reads (no personal data)."""
    from incidents.export import FORMATS, ExportFilter, csv_chunks, export_rows, write_export
    from incidents.models import STATUSES

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    unknown = [s for s in status or [] if s not in STATUSES]
    if unknown:
        fail(f"unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
    where = ExportFilter(
        since=_moment(since, "--from"),
        until=_moment(until, "--to"),
        status=status or None,
        town=town,
        type_code=type_code,
    )
    with transaction() as conn:
        if output is None and fmt == "csv":
            for chunk in csv_chunks(export_rows(conn, principal=None, where=where)):
                sys.stdout.buffer.write(chunk)
            return
        path = output or Path(f"cases.{fmt}")
        n = write_export(conn, principal=None, where=where, fmt=fmt, path=path)
    typer.echo(f"{n} case(s) written to {path}", err=True)
