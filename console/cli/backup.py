"""``shudi backup`` (take one; ``verify``, ``list``) and ``shudi restore [--to TIME]``: the
embedded cluster's point-in-time backups with pgBackRest (shudi/backups.py, docs/backups.md)."""

from __future__ import annotations

import typer

from console.cli.common import echo_json, fail
from shudi import backups
from shudi.database import cluster_for
from shudi.settings import get_settings

app = typer.Typer(
    help="Point-in-time backups of the embedded cluster (pgBackRest); see docs/backups.md.",
    invoke_without_command=True,
)


def _repo(action: str) -> backups.Repo:
    settings = get_settings()
    if settings.database_url:
        fail(
            f"SHUDI_DATABASE_URL is set: `shudi {action}` backs up only the embedded cluster; "
            "an external PostgreSQL uses its own pgBackRest stanza (docs/backups.md)"
        )
    return backups.repo_for(cluster_for(settings), root=settings.backup_dir)


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MiB"


@app.callback()
def take(
    ctx: typer.Context,
    type_: str = typer.Option(
        None,
        "--type",
        help="full | diff | incr (default: full the first time, after a restore and weekly; "
        "diff otherwise).",
    ),
) -> None:
    """Take a backup of the embedded cluster (turning WAL archiving on the first time)."""
    if ctx.invoked_subcommand is not None:
        return
    done = backups.backup(repo=_repo("backup"), kind=type_)
    for note in done["notes"]:
        typer.echo(note)
    typer.echo(
        f"{done['type']} backup {done['label']} in {done['seconds']:.1f} s: database "
        f"{_size(done['database_bytes'])}, stored {_size(done['stored_bytes'])}, WAL "
        f"{done['wal']}; {done['backups_kept']} backup(s) kept, archived WAL "
        f"{_size(done['wal_archived_bytes'])}"
    )


@app.command("verify")
def verify_cmd() -> None:
    """Check the latest backup and the archive: exit 1 with one line when anything is broken."""
    done = backups.verify(repo=_repo("backup verify"))
    typer.echo(
        f"ok: latest backup {done['label']} ({done['type']}, finished "
        f"{done['finished'].isoformat()}) and the archived WAL read back whole"
        + ("; archiving works now" if done["archiving_checked"] else "; cluster not running")
    )


@app.command("list")
def list_cmd() -> None:
    """Every backup kept (JSON, oldest first) and the earliest moment a restore can stop at."""
    repo = _repo("backup list")
    found = backups.list_backups(repo=repo)
    first = backups.earliest(repo=repo)
    echo_json(
        {
            "backups": found,
            "restorable_from": first,
            "wal_archived_bytes": backups.wal_archived_bytes(repo=repo),
        }
    )


def restore(
    to: str = typer.Option(
        None,
        "--to",
        help="Stop at this moment, ISO 8601 with its offset (e.g. 2026-12-07T20:15:00+08:00); "
        "default: the latest archived.",
    ),
) -> None:
    """Stop the embedded cluster, restore it (delta) to TIME or the latest, start it again."""
    target = backups.parse_target(text=to) if to is not None else None
    done = backups.restore(repo=_repo("restore"), to=target)
    typer.echo(
        f"restored to {done['to']} in {done['restored_s']:.1f} s, recovered and promoted in "
        f"{done['recovered_s']:.1f} s; serving on port {done['port']}. The next `shudi backup` "
        "is a full one."
    )


def register(main: typer.Typer) -> None:
    """Add ``shudi backup`` and ``shudi restore`` to the main command."""
    main.add_typer(app, name="backup")
    main.command("restore")(restore)
