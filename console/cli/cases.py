"""``shudi cases``: jobs on the case store."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from console.cli.common import fail, transaction

app = typer.Typer(help="Jobs on cases.", no_args_is_help=True)


@app.command()
def remind(
    within_hours: float = typer.Option(4.0, help="Remind this long before a deadline."),
    report_in_minutes: float = typer.Option(
        10.0, help="Remind a called unit this long before its report-in (吹哨报到) deadline."
    ),
) -> None:
    """Remind (督办) the handling units of cases whose deadlines are near or passed, and the
    units called to joint enforcement of their report-in and completion deadlines (an event and
    outbox notices, once per deadline and threshold); escalate disputes the community did not
    settle in time to the town's mediation. The sender (`shudi serve`, `shudi notify run`)
    does the reminders every SHUDI_NOTIFY_REMIND_EVERY_S too."""
    from incidents.escalation import escalate_overdue
    from incidents.reminders import send_reminders, send_task_reminders

    within = timedelta(hours=within_hours)
    with transaction() as conn:
        escalated = escalate_overdue(conn)
        sent = send_reminders(conn, within=within)
        tasks = send_task_reminders(
            conn, report_within=timedelta(minutes=report_in_minutes), complete_within=within
        )
    overdue = sum(s["overdue"] for s in sent)
    typer.echo(f"{len(sent)} reminder(s): {overdue} overdue, {len(sent) - overdue} due soon")
    late = sum(s["overdue"] for s in tasks)
    typer.echo(f"{len(tasks)} joint-task reminder(s): {late} overdue, {len(tasks) - late} due soon")
    if escalated:
        typer.echo(f"{len(escalated)} dispute(s) escalated to the town's mediation")


#: Bad rows printed on stderr; ``--errors FILE`` gets all of them.
SHOWN_BAD_ROWS = 20


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="CSV, Excel (.xlsx) or GeoJSON file of past cases."),
    strict: bool = typer.Option(False, "--strict", help="Import nothing if any row is bad."),
    crs: str = typer.Option("wgs84", help="Coordinate system of rows without a crs value."),
    encoding: str | None = typer.Option(None, help="CSV encoding (default: UTF-8, else GB18030)."),
    sheet: str | None = typer.Option(None, help="Excel sheet (default: the first)."),
    errors: Path | None = typer.Option(None, help="Write every bad row (line, reason) as CSV."),
    field: list[str] = typer.Option(
        [], help="NAME=COLUMN: the file's column for a field, e.g. due_at=办理时限 (repeatable)."
    ),
) -> None:
    """Import historical cases, each resolved and routed as of its date (one transaction).

    Open cases get a deadline: the file's own (办理时限 / 截止时间, or --field due_at=COLUMN),
    else the type's time limit from the reported time on the working-day calendar.
    """
    from incidents.history import import_cases

    fields = {}
    for pair in field:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            fail(f"--field wants NAME=COLUMN, got {pair!r}")
        fields[name.strip()] = column.strip()
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(f"reading {path.name}", total=None)

        def tick(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        with transaction() as conn:
            summary = import_cases(
                conn, path=path, strict=strict, default_crs=crs, encoding=encoding,
                sheet=sheet, progress=tick, fields=fields,
            )  # fmt: skip
            tick("committing", 0, None)
    if errors is not None:
        with errors.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow([summary.unit, "reason"])
            out.writerows([b.line, b.reason] for b in summary.bad)
    for row in summary.bad[:SHOWN_BAD_ROWS]:
        typer.echo(summary.describe(row), err=True)
    hidden = len(summary.bad) - SHOWN_BAD_ROWS
    if hidden > 0:
        more = f" (all in {errors})" if errors else " (--errors FILE lists all)"
        typer.echo(f"… and {hidden} more bad row(s){more}", err=True)
    typer.echo(
        f"{path.name}: {summary.imported} case(s) imported, {summary.already} imported before, "
        f"{len(summary.bad)} bad row(s) of {summary.rows}"
    )
    if summary.before_boundaries:
        typer.echo(
            f"{summary.before_boundaries} case(s) dated before the first boundaries were placed "
            "with the earliest boundary generations"
        )
    if summary.rows and not summary.imported and not summary.already:
        fail(f"no row of {path.name} could be imported")


@app.command()
def purge() -> None:
    """Forget expired Idempotency-Keys (kept 24 h) and ended rate-limit windows."""
    from abuse.service import Policy
    from abuse.service import purge as purge_counters
    from incidents.idempotency import purge as purge_keys
    from shudi.settings import get_settings

    with transaction() as conn:
        keys = purge_keys(conn)
        counters = purge_counters(conn, policy=Policy.from_settings(get_settings()))
    typer.echo(f"purged {keys} idempotency key(s) and {counters} rate counter(s)")


@app.command()
def anonymise(
    days: int = typer.Option(
        None, min=1, help="Retention in days after closing (default: SHUDI_PII_RETENTION_DAYS)."
    ),
) -> None:
    """Erase reporters' names and phone numbers of cases closed longer ago than the retention."""
    from incidents.privacy import anonymise as erase
    from shudi.settings import get_settings

    days = days or get_settings().pii_retention_days
    with transaction() as conn:
        n = erase(conn, days=days)
    typer.echo(f"{n} case(s) anonymised (closed more than {days} day(s) ago)")
