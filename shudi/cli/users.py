"""``shudi users`` and ``shudi apikey``: staff accounts and Open311 keys."""

from __future__ import annotations

import typer

from accounts import service
from shudi.cli.common import transaction

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="Open311 API keys.", no_args_is_help=True)


@app.command()
def add(
    name: str = typer.Argument(..., help="The user name."),
    role: str = typer.Option(
        ...,
        help="dispatcher | agency_officer | town_coordinator | "
        "community_worker | property_company | planner | admin",
    ),
    password: str = typer.Option(..., prompt=True, hide_input=True, help="At least 8 chars."),
    agency: str | None = typer.Option(None, help="The officer's agency code."),
    unit: str | None = typer.Option(None, help="The officer's field unit code, if any."),
    town: str | None = typer.Option(None, help="The coordinator's town code."),
    community: str | None = typer.Option(None, help="The community worker's community code."),
    company: str | None = typer.Option(None, help="The property company's name."),
) -> None:
    """Add a staff user."""
    with transaction() as conn:
        uid = service.create_user(
            conn,
            username=name,
            password=password,
            role=role,
            agency=agency,
            agency_unit=unit,
            town_code=town,
            community_code=community,
            company=company,
        )
    typer.echo(f"user {name} ({role}) created with id {uid}")


@apikey_app.command()
def create(name: str = typer.Argument(..., help="The client's name.")) -> None:
    """Create an Open311 API key; the key is the last line printed (shown only once)."""
    with transaction() as conn:
        key = service.create_api_key(conn, name=name)
    typer.echo(f"API key for {name} (store it now; it is not shown again):")
    typer.echo(key)
