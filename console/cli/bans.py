"""``shudi bans``: the list of client addresses and phone numbers whose reports are refused."""

from __future__ import annotations

import typer

from abuse import service
from console.cli.common import echo_json, transaction

app = typer.Typer(
    help="Refuse reports from abusive addresses or phone numbers.", no_args_is_help=True
)


@app.command("add")
def add(
    kind: str = typer.Argument(..., help="ip or phone"),
    value: str = typer.Argument(..., help="The client address or the phone number."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the ban)."),
    days: float = typer.Option(None, help="For this many days (default: until lifted)."),
) -> None:
    """Refuse reports from an address or a phone number."""
    with transaction() as conn:
        ban = service.add_ban(
            conn, kind=kind, value=value, reason=reason, created_by="shudi bans", days=days
        )
    typer.echo(f"ban {ban['id']}: {ban['kind']} {ban['value']}")


@app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help="Include expired bans.")) -> None:
    """Bans in force, newest first (JSON)."""
    with transaction() as conn:
        echo_json(service.list_bans(conn, include_expired=all_))


@app.command("lift")
def lift(ban_id: int = typer.Argument(..., help="The ban's id (see `shudi bans list`).")) -> None:
    """Lift a ban."""
    with transaction() as conn:
        service.lift_ban(conn, ban_id=ban_id)
    typer.echo(f"ban {ban_id} lifted")
