"""``shudi notify``: the outbox's sender and the operator's commands."""

from __future__ import annotations

import logging
import signal
import threading

import typer

from console.cli.common import echo_json, transaction

app = typer.Typer(help="Notifications: the outbox sender, status, retries.", no_args_is_help=True)


@app.command()
def run(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then stop."),
) -> None:
    """Deliver the outbox until stopped (SIGINT/SIGTERM finish the current batch first); run
    the deadline reminders (督办) every SHUDI_NOTIFY_REMIND_EVERY_S on the way."""
    from notify.sender import run_forever, run_once, transports_for
    from shudi.database import get_engine
    from shudi.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    transports = transports_for(get_settings())
    if once:
        total = 0
        while handled := run_once(get_engine(), transports=transports):
            total += handled
        typer.echo(f"{total} message(s) handled")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from incidents.reminders import run_due
    from notify.sender import Every

    remind = Every(get_settings().notify_remind_every_s, run_due, "督办")  # deadline reminders
    run_forever(stop, engine_factory=get_engine, transports=transports, jobs=[remind])


@app.command()
def status() -> None:
    """Messages per state and channel, the oldest pending one's age, the latest dead letters."""
    from notify.service import status as outbox_status

    with transaction() as conn:
        echo_json(outbox_status(conn))


@app.command()
def retry(
    ids: list[int] | None = typer.Argument(None, help="Message ids (default: every dead one)."),
) -> None:
    """Queue dead letters again (attempts reset)."""
    from notify.service import retry as requeue

    with transaction() as conn:
        n = requeue(conn, ids=list(ids) if ids else None)
    typer.echo(f"{n} message(s) queued again")


@app.command()
def purge(
    days: int = typer.Option(90, min=1, help="Keep sent and suppressed messages this long."),
) -> None:
    """Delete sent and suppressed messages older than DAYS (dead letters are kept)."""
    from notify.service import purge as delete_old

    with transaction() as conn:
        n = delete_old(conn, days=days)
    typer.echo(f"{n} message(s) purged (older than {days} day(s))")


@app.command()
def preview(
    template: str = typer.Argument(..., help="Template name (notify/data/templates.yaml)."),
    case: int = typer.Option(..., "--case", help="The case to fill it with."),
) -> None:
    """Render TEMPLATE for case ID without sending anything (no recipient is shown)."""
    from notify.service import preview as render

    with transaction() as conn:
        out = render(conn, template=template, case_id=case)
    if out.get("sms_segments", 1) > 1:
        typer.echo(f"# SMS: {out['sms_chars']} characters, {out['sms_segments']} parts", err=True)
    echo_json(out)


@app.command()
def digest(
    town: str | None = typer.Option(None, "--town", help="One town's code (default: every town)."),
    day: str | None = typer.Option(
        None, "--day", help="The day, YYYY-MM-DD Beijing time (default: yesterday)."
    ),
) -> None:
    """Enqueue the town coordinators' daily digest (new, overdue, disputes, joint tasks waiting)
    for DAY; once per town and day however often it runs."""
    from datetime import UTC, date, datetime, timedelta

    from console.cli.common import fail
    from notify.digest import BEIJING, enqueue_digest
    from notify.exceptions import DigestError

    try:
        when = date.fromisoformat(day) if day else datetime.now(UTC).astimezone(BEIJING).date()
    except ValueError:
        fail(f"--day {day!r} is not a date like 2026-12-01")
    if not day:
        when -= timedelta(days=1)
    try:
        with transaction() as conn:
            echo_json(enqueue_digest(conn, day=when, town=town))
    except DigestError as exc:
        fail(str(exc))


contacts = typer.Typer(help="Units' duty e-mails and mobiles for 督办 reminders.")
app.add_typer(contacts, name="contacts")


@contacts.command("add")
def contacts_add(
    party: str = typer.Argument(..., help="The agency code, e.g. public_security."),
    contact: str = typer.Argument(..., help="A mainland mobile number or an e-mail address."),
    unit: str = typer.Option("", "--unit", help="The field unit, town or community code."),
    label: str = typer.Option("", "--label", help="Whose it is, e.g. 值班室."),
) -> None:
    """Send a unit's deadline reminders (督办) to this mobile or e-mail too."""
    from console.cli.common import fail
    from notify.exceptions import FollowError
    from notify.unit_contacts import add_contact

    try:
        with transaction() as conn:
            echo_json(add_contact(conn, party=party, unit_code=unit, label=label, contact=contact))
    except FollowError as exc:
        fail(str(exc))


@contacts.command("list")
def contacts_list(
    party: str | None = typer.Option(None, "--party", help="One agency's (default: all)."),
) -> None:
    """The units' duty contacts (addresses masked)."""
    from notify.unit_contacts import list_contacts

    with transaction() as conn:
        echo_json(list_contacts(conn, party=party))


@contacts.command("remove")
def contacts_remove(contact_id: int = typer.Argument(..., help="The contact's id.")) -> None:
    """Stop sending reminders to a duty contact."""
    from console.cli.common import fail
    from notify.exceptions import UnitContactNotFound
    from notify.unit_contacts import remove_contact

    try:
        with transaction() as conn:
            remove_contact(conn, contact_id=contact_id)
    except UnitContactNotFound as exc:
        fail(str(exc))
    typer.echo(f"contact {contact_id} removed")
