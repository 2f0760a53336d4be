"""``shudi meetings``: prepare a town's joint-meeting agenda; show or export a meeting."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from console.cli.common import echo_json, fail, transaction

app = typer.Typer(help="Joint meetings (联席会议) of towns/streets.", no_args_is_help=True)
FORMATS = ("json", "html", "pdf", "xlsx")


def _write(meeting: dict[str, Any], fmt: str, out: Path | None, agenda_only: bool) -> None:
    from meetings.papers import export
    from meetings.service import agenda_json

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        payload = agenda_json(meeting) if agenda_only else meeting
        if out is None:
            echo_json(payload)
            return
        body = (json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n").encode()
    else:
        body, _media = export(meeting, fmt)
    if out is None:
        if sys.stdout.isatty():
            fail(f"{fmt} is binary or long; write it to a file with --out PATH")
        sys.stdout.buffer.write(body)
        return
    try:
        out.write_bytes(body)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    typer.echo(f"meeting {meeting['id']}: {len(meeting['items'])} item(s) -> {out}")


@app.command()
def prepare(
    town: str = typer.Option(..., help="Town/street code."),
    month: str = typer.Option(None, help="YYYY-MM (default: this month)."),
    fmt: str = typer.Option("json", "--format", help="json | html | pdf | xlsx"),
    out: Path = typer.Option(None, help="Write here instead of stdout."),
    extraordinary: bool = typer.Option(False, help="Call an extraordinary meeting."),
    topic: str = typer.Option("", help="What the meeting is about (optional)."),
) -> None:
    """Build the agenda of TOWN's meeting from the case data (a draft until recorded)."""
    from meetings.service import prepare as prepare_meeting

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    with transaction() as conn:
        meeting = prepare_meeting(
            conn,
            town=town,
            month=month,
            principal=None,
            kind="extraordinary" if extraordinary else "regular",
            topic=topic,
        )
    _write(meeting, fmt, out, agenda_only=True)


@app.command()
def show(
    meeting_id: int = typer.Argument(..., help="The meeting's id."),
    fmt: str = typer.Option("json", "--format", help="json | html | pdf | xlsx"),
    out: Path = typer.Option(None, help="Write here instead of stdout."),
) -> None:
    """A meeting with its decisions and actions (the minutes once it is held)."""
    from meetings.service import load

    with transaction() as conn:
        meeting = load(conn, meeting_id=meeting_id, principal=None)
    _write(meeting, fmt, out, agenda_only=False)
