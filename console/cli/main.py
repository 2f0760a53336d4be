"""Entry point of the ``shudi`` command."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import typer
from sqlalchemy.exc import OperationalError

from console.cli import (
    assessment,
    audit,
    backup,
    bans,
    boundaries,
    cases,
    db,
    export,
    hotspots,
    meetings,
    notify,
    pii,
    places,
    replica,
    taxonomy,
    users,
)
from console.cli.common import echo_json, fail, transaction
from gis.exceptions import GisError
from shudi.exceptions import ShudiError

#: Seconds ``serve`` gives requests in flight after SIGTERM before cancelling them.
SHUTDOWN_GRACE_S = 10

app = typer.Typer(
    help="Shudi 属地: jurisdiction resolution and incident maps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
db.app.add_typer(replica.app, name="replica")
app.add_typer(boundaries.app, name="boundaries")
app.add_typer(taxonomy.app, name="taxonomy")
app.add_typer(taxonomy.contacts_app, name="contacts")
app.add_typer(users.app, name="users")
app.add_typer(users.apikey_app, name="apikey")
app.add_typer(cases.app, name="cases")
cases.app.command("export")(export.export_cases)
app.add_typer(bans.app, name="bans")
app.add_typer(pii.app, name="pii")
app.command(name="assessment")(assessment.assessment)
app.add_typer(audit.app, name="audit")
app.add_typer(meetings.app, name="meetings")
app.add_typer(hotspots.app, name="hotspots")
app.add_typer(notify.app, name="notify")
app.add_typer(places.app, name="places")
backup.register(app)


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    forwarded_allow_ips: str = typer.Option(
        None,
        help="Proxies trusted to set X-Forwarded-For (comma-separated; default "
        "SHUDI_FORWARDED_ALLOW_IPS, empty: none): behind a load balancer, its address, so "
        "that rate limits see each client.",
    ),
    no_notify: bool = typer.Option(
        False, "--no-notify", help="Do not run the outbox sender here (run `shudi notify run`)."
    ),
) -> None:
    """Serve the API and the map pages."""
    import uvicorn

    from abuse.service import Policy
    from api.pages import check_basemap
    from shudi.database import check_durability, get_engine
    from shudi.logs import log_config
    from shudi.metrics import prepare_multiprocess_dir
    from shudi.settings import get_settings

    if no_notify:  # read by each worker's settings
        os.environ["SHUDI_NOTIFY_IN_SERVER"] = "0"
        get_settings.cache_clear()
    settings = get_settings()
    if workers > 1:  # each worker's metrics go to files that /metrics adds up
        prepare_multiprocess_dir(settings.home)
    Policy.from_settings(settings)  # a bad rate-limit setting stops here, in one line
    if settings.notify_in_server:
        from notify.sender import transports_for

        transports_for(settings)  # and so does a bad channel setting
    check_basemap()  # and so does a bad basemap setting
    if settings.require_durable_db:
        check_durability(get_engine())
    trusted = (
        forwarded_allow_ips if forwarded_allow_ips is not None else settings.forwarded_allow_ips
    ).strip()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        log_config=log_config(settings),
        access_log=False,  # the app writes its own (SHUDI_ACCESS_LOG), with the request id
        proxy_headers=bool(trusted),  # no trusted proxy: X-Forwarded-For is ignored
        forwarded_allow_ips=trusted or None,
        # requests still running this long after SIGTERM are cancelled: open live-map streams
        # never end by themselves (their browsers reconnect, to another worker or instance)
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


@app.command()
def demo(
    cases: int = typer.Option(400, min=0, help="How many demo cases to file (once)."),
    users: bool = typer.Option(
        True,
        "--users/--no-users",
        envvar="SHUDI_DEMO_USERS",
        help="Create (or reset) one demo user per role, passwords printed; never in production.",
    ),
) -> None:
    """Load the sample district, taxonomy, contacts, users and demo cases (idempotent)."""
    from console.demo import load_sample_district
    from console.demo_cases import load_demo_cases
    from console.demo_contacts import load_demo_contacts, load_demo_duty_contacts
    from console.demo_users import load_demo_users
    from notify.service import discard_this_transaction

    with transaction() as conn:
        n = load_sample_district(conn, note=typer.echo)
        contacts = load_demo_contacts(conn)
        duty = load_demo_duty_contacts(conn)
        accounts = load_demo_users(conn) if users else {}
        made = load_demo_cases(conn, count=cases) if cases else 0
        discard_this_transaction(conn, reason="demo")  # back-dated demo cases tell no one
    typer.echo(f"{contacts} published contacts, {duty} duty contacts (督办)")
    typer.echo(f"demo cases: {made} made now" if made else "demo cases: none made")
    if users:
        typer.echo("demo users (new passwords on every run):")
        for username, password in accounts.items():
            typer.echo(f"  {username:28} {password}")
    else:
        typer.echo("demo users: none (create accounts with `shudi users add`)")
    typer.echo(f"sample district ready ({n} layer(s) imported)")


@app.command()
def resolve(
    lon: float = typer.Argument(..., help="Longitude (x)."),
    lat: float = typer.Argument(..., help="Latitude (y)."),
    crs: str = typer.Option("wgs84", help="wgs84 | gcj02 | bd09 | cgcs2000"),
    at: datetime | None = typer.Option(None, help="Resolve against the boundaries valid then."),
) -> None:
    """Whose territory LON LAT is in (same code path as the batch endpoint)."""
    from jurisdictions.batch import resolve_batch
    from jurisdictions.service import to_store_coordinates

    to_store_coordinates(lon, lat, crs)  # one clear error for a bad or swapped point
    with transaction() as conn:
        out = resolve_batch(conn, points=[(lon, lat)], crs=crs, at=at)
    result = out["results"][0]
    if "error" in result:
        fail(result["error"]["message"])
    echo_json(result)


def main() -> None:
    """Run the CLI; domain errors become one line on stderr and exit 1."""
    try:
        app(prog_name="shudi")
    except (ShudiError, GisError) as exc:
        fail(str(exc))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        fail(f"cannot reach the database ({reason}); is it running? try `shudi db start`")
    except KeyboardInterrupt:
        sys.exit(130)
