"""``shudi users`` and ``shudi apikey``: staff accounts and Open311 keys."""

from __future__ import annotations

import typer

from accounts import service
from console.cli.common import transaction

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
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        help="At least 8 chars (12 for an admin), not a common one.",
    ),
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


@apikey_app.command("create-hotline")
def create_hotline(name: str = typer.Argument(..., help="The hotline platform's name.")) -> None:
    """A 12345 platform's API key and signing secret (docs/hotline.md), shown only once."""
    from incidents.hotline_keys import create_platform

    with transaction() as conn:
        made = create_platform(conn, name=name)
    typer.echo(f"hotline platform {name} (store both now; they are not shown again):")
    typer.echo(f"api_key={made['api_key']}")
    typer.echo(f"secret={made['secret']}")


@app.command("list")
def list_() -> None:
    """Every staff user, whether active, and its live sessions."""
    from accounts import admin

    with transaction() as conn:
        rows = admin.list_users(conn)
    for r in rows:
        state = "active" if r["active"] else "DISABLED"
        typer.echo(f"{r['username']:28} {r['role']:18} {state:8} sessions={r['sessions']}")


@app.command()
def disable(name: str = typer.Argument(..., help="The user name.")) -> None:
    """Disable a user: no more log-ins, every session ends now."""
    from accounts import admin

    with transaction() as conn:
        ended = admin.set_active(conn, username=name, active=False)
    typer.echo(f"user {name} disabled; {ended} session(s) ended")


@app.command()
def enable(name: str = typer.Argument(..., help="The user name.")) -> None:
    """Re-enable a disabled user."""
    from accounts import admin

    with transaction() as conn:
        admin.set_active(conn, username=name, active=True)
    typer.echo(f"user {name} enabled")


@app.command("reset-password")
def reset_password(
    name: str = typer.Argument(..., help="The user name."),
    password: str | None = typer.Option(
        None, help="The new password (default: a random one, printed once)."
    ),
) -> None:
    """Set a new password, end the user's sessions and clear its failed log-ins."""
    from accounts import admin

    with transaction() as conn:
        new = admin.reset_password(conn, username=name, password=password)
    typer.echo(f"password of {name} reset; every session ended")
    if not password:
        typer.echo(new)


@app.command("end-sessions")
def end_sessions(name: str = typer.Argument(..., help="The user name.")) -> None:
    """Revoke every bearer token and session cookie of a user."""
    from accounts import admin

    with transaction() as conn:
        ended = admin.revoke_sessions(conn, username=name)
    typer.echo(f"{ended} session(s) of {name} ended")


@apikey_app.command("list")
def apikey_list() -> None:
    """Every Open311 API key (id, client, revoked); never the key itself."""
    from accounts import admin

    with transaction() as conn:
        rows = admin.list_api_keys(conn)
    for r in rows:
        typer.echo(f"{r['id']:5} {r['name']:30} {'REVOKED' if r['revoked'] else 'valid'}")


@apikey_app.command()
def revoke(key_id: int = typer.Argument(..., help="The key's id (shudi apikey list).")) -> None:
    """Revoke an Open311 API key."""
    from accounts import admin

    with transaction() as conn:
        admin.revoke_api_key(conn, key_id=key_id)
    typer.echo(f"API key {key_id} revoked")
