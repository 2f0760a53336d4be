"""``shudi audit``: seal, verify and read the tamper-evident audit log."""

from __future__ import annotations

import os

import typer

from audit import service
from console.cli.common import echo_json, fail, transaction
from shudi.database import get_engine

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def seal() -> None:
    """Chain every finished row now (the server also does it every few seconds)."""
    n = service.seal_pending(get_engine(), wait=True)
    with transaction() as conn:
        top = service.head(conn)
    typer.echo(f"sealed {n} row(s); head {top}")


@app.command()
def verify(
    head: str | None = typer.Option(
        None, help="A head recorded earlier (SEQ:HASH): it must still be in the chain."
    ),
) -> None:
    """Seal, then recompute the whole chain; exit 1 naming the first altered or missing row."""
    expect = service.parse_head(head) if head else None
    service.seal_pending(get_engine(), wait=True)
    with transaction() as conn:
        result = service.verify(conn, expect=expect)
    typer.echo(
        f"ok: {result.rows} sealed row(s) intact; head {result.head}; "
        f"{result.unsealed} unsealed (transactions still running)"
    )


@app.command()
def status() -> None:
    """Sealed and unsealed counts and the chain head."""
    with transaction() as conn:
        echo_json(service.status(conn))


@app.command()
def show(
    subject: str | None = typer.Option(None, help="e.g. case:12, app_user:3, agency:police"),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many, newest first."),
) -> None:
    """The newest entries (JSON)."""
    with transaction() as conn:
        rows = service.entries(conn, subject=subject, limit=limit)
    for row in rows:
        row["at"] = row["at"].isoformat()
    echo_json(rows)


@app.command("app-password")
def app_password(
    env: str = typer.Option(
        "SHUDI_APP_DB_PASSWORD", help="The environment variable holding the password."
    ),
) -> None:
    """Set the password the application role (shudi_app) logs in with; run as the owner."""
    password = os.environ.get(env, "")
    if len(password) < 12:
        fail(f"${env} must hold the application role's password (12 characters or more)")
    with transaction() as conn:
        service.set_app_password(conn, password=password)
    typer.echo(f"password of {service.APP_ROLE} set")
