"""``shudi pii``: the keys that seal residents' names and phone numbers (docs/privacy.md)."""

from __future__ import annotations

import typer

from console.cli.common import transaction

app = typer.Typer(help="Keys of the personal data sealed at rest.", no_args_is_help=True)


@app.command("new-key")
def new_key() -> None:
    """Print a new key entry: put it first in SHUDI_PII_KEYS (or the key file), then rotate."""
    from shudi.pii import new_key_line

    typer.echo(new_key_line())


@app.command()
def rotate() -> None:
    """Re-seal every stored name and phone number under the first (current) key."""
    from incidents.privacy import reseal
    from shudi.pii import get_cipher

    cipher = get_cipher()
    with transaction() as conn:
        n = reseal(conn, cipher=cipher)
    typer.echo(f"{n} reporter record(s) re-sealed under key {cipher.current}")
