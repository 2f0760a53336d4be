"""``shudi db``: the embedded PostGIS cluster and migrations."""

from __future__ import annotations

import typer

from console.cli.common import echo_json, fail
from shudi import embedded
from shudi.database import cluster_for, database_url, make_engine
from shudi.migrate import upgrade
from shudi.settings import get_settings

app = typer.Typer(help="The database: embedded cluster and migrations.", no_args_is_help=True)


def _embedded_only(action: str) -> embedded.Cluster:
    settings = get_settings()
    if settings.database_url:
        fail(f"SHUDI_DATABASE_URL is set: `shudi db {action}` manages only the embedded cluster")
    return cluster_for(settings)


@app.command()
def start() -> None:
    """Create (once) and start the embedded PostGIS under $SHUDI_HOME/pg."""
    cluster = _embedded_only("start")
    embedded.start(cluster)
    typer.echo(f"embedded PostGIS running at {cluster.root} (port {cluster.port})")


@app.command()
def stop() -> None:
    """Stop the embedded cluster."""
    cluster = _embedded_only("stop")
    typer.echo("stopped" if embedded.stop(cluster) else "not running")


@app.command()
def status() -> None:
    """Whether the embedded cluster runs, where, on which port."""
    settings = get_settings()
    if settings.database_url:
        echo_json({"external": True, "url": database_url(settings)})
        return
    echo_json(embedded.status(cluster_for(settings)))


@app.command()
def url() -> None:
    """Print the database URL the app uses (password hidden)."""
    from sqlalchemy.engine import make_url

    typer.echo(make_url(database_url()).render_as_string(hide_password=True))


@app.command()
def migrate(revision: str = typer.Argument("head")) -> None:
    """Run the Alembic migrations up to REVISION (as the database's owner); on the embedded
    cluster, then give the app role ``shudi_app`` its password; then bring the linkage rules
    (parties, violation types) to the data files shipped with this version."""
    from jurisdictions.catalog import load_reference_data

    settings = get_settings()
    upgrade(database_url(settings, owner=True), revision)
    if not settings.database_url:
        embedded.set_app_password(cluster_for(settings))
    typer.echo(f"migrated to {revision}")
    if revision != "head":
        return  # an older schema may not hold today's reference data
    engine = make_engine(database_url(settings, owner=True))  # reference tables: the owner's
    try:
        with engine.begin() as conn:
            counts = load_reference_data(conn)
    finally:
        engine.dispose()
    if counts is None:
        typer.echo("linkage rules: current")
    else:
        typer.echo(
            f"linkage rules loaded: {counts['agencies']} parties, {counts['types']} violation "
            f"types ({counts['retired']} retired)"
        )
