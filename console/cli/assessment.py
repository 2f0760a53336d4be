"""``shudi assessment``: every unit's figures for a period, as JSON, Excel or PDF."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from console.cli.common import echo_json, fail, transaction

FORMATS = ("json", "xlsx", "pdf")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-01-31, not {value!r}")


def assessment(
    first: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    last: str = typer.Option(..., "--to", help="Last day (included), YYYY-MM-DD."),
    fmt: str = typer.Option("json", "--format", help="json | xlsx | pdf"),
    out: Path | None = typer.Option(None, "--out", help="Write here (default: stdout)."),
) -> None:
    """Per agency, agency unit and town: received, on time, overdue, rework, satisfaction …"""
    from assessment import export
    from assessment.period import period as make_period

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    p = make_period(first=_day(first, "--from"), last=_day(last, "--to"))
    with transaction() as conn:
        if fmt == "json":
            payload = export.figures(conn, p=p)
        else:
            content = export.render(conn, p=p, fmt=fmt).content
    if fmt == "json":
        if out is None:
            echo_json(payload)
            return
        import json

        content = json.dumps(payload, ensure_ascii=False, indent=2, default=str).encode()
    if out is not None:
        try:
            out.write_bytes(content)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        typer.echo(f"{out}: {len(content)} bytes")
    elif sys.stdout.isatty():
        fail(f"{fmt} is a binary format: pass --out PATH (or redirect the output)")
    else:
        sys.stdout.buffer.write(content)
