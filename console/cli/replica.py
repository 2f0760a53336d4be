"""``shudi db replica``: a streaming read replica of the embedded cluster (shudi/standby.py)."""

from __future__ import annotations

import typer

from console.cli.common import echo_json, fail
from shudi import standby
from shudi.database import cluster_for
from shudi.embedded import Cluster
from shudi.settings import get_settings

app = typer.Typer(
    help="A streaming read replica of the embedded cluster (pg_basebackup, a replication "
    "slot); reads go to it with SHUDI_DATABASE_READ_URL=embedded.",
    no_args_is_help=True,
)


def _primary(action: str) -> Cluster:
    settings = get_settings()
    if settings.database_url:
        fail(
            f"SHUDI_DATABASE_URL is set: `shudi db replica {action}` manages only the embedded "
            "cluster's replica (for your own server, see docs/operations.md)"
        )
    return cluster_for(settings)


@app.command()
def start() -> None:
    """Make the replica (once, from a base backup of the running primary) and start it."""
    replica = standby.start(primary=_primary("start"))
    typer.echo(
        f"replica streaming at {replica.root} (port {replica.port}); send lag-tolerant reads "
        "to it with SHUDI_DATABASE_READ_URL=embedded"
    )


@app.command()
def stop(
    remove: bool = typer.Option(
        False, "--remove", help="Also delete its files and drop its replication slot."
    ),
) -> None:
    """Stop the replica (its slot keeps the WAL it has yet to receive, unless --remove)."""
    was = standby.stop(primary=_primary("stop"), remove=remove)
    typer.echo(("stopped" if was else "not running") + (", removed" if remove else ""))


@app.command()
def status() -> None:
    """State and replay lag (bytes and seconds) of the replica, and the WAL its slot holds."""
    echo_json(standby.status(primary=_primary("status")))
