"""``shudi cases``: jobs on the case store."""

from __future__ import annotations

from datetime import timedelta

import typer

from incidents.reminders import send_reminders
from shudi.cli.common import transaction

app = typer.Typer(help="Jobs on cases.", no_args_is_help=True)


@app.command()
def remind(
    within_hours: float = typer.Option(4.0, help="Remind this long before a deadline."),
) -> None:
    """Add a reminder (督办) event to cases whose deadlines passed or are near (once each)."""
    with transaction() as conn:
        sent = send_reminders(conn, within=timedelta(hours=within_hours))
    overdue = sum(s["overdue"] for s in sent)
    typer.echo(f"{len(sent)} reminder(s): {overdue} overdue, {len(sent) - overdue} due soon")
