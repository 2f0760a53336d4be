"""A private PostgreSQL + PostGIS cluster under ``$SHUDI_HOME/pg``.

The cluster listens on 127.0.0.1 and on a Unix socket in its own folder, on a free port chosen
when it is created, so it never collides with a system PostgreSQL on 5432. As root, the server
runs as the ``postgres`` system user (created by Debian's packages), since PostgreSQL refuses
to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions

from shudi.errors import EmbeddedDatabaseError

SERVER_CONF = """\
# Written by shudi; the embedded cluster's own settings.
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = '512MB'
work_mem = '32MB'
maintenance_work_mem = '256MB'
jit = off
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_size = '2GB'
log_min_duration_statement = 2000
timezone = 'UTC'
"""


@dataclass(frozen=True)
class Cluster:
    """Where one embedded cluster lives and how to reach it."""

    root: Path
    db_name: str = "shudi"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "postgres.log"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int:
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError) as exc:
            raise EmbeddedDatabaseError(
                f"no embedded cluster at {self.root}; run `shudi db start`"
            ) from exc

    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's database, over its Unix socket."""
        return (
            f"postgresql+psycopg2://postgres@/{self.db_name}"
            f"?host={self.socket_dir}&port={self.port}"
        )


def _bindir() -> Path:
    """The newest installed PostgreSQL server binaries that have PostGIS beside them."""
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if Path(f"/usr/share/postgresql/{bindir.parent.name}/extension/postgis.control").exists():
            return bindir
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise EmbeddedDatabaseError(
        "no PostgreSQL server with PostGIS found; run `make install` "
        "(apt-get install postgresql-<version>-postgis-3)"
    )


def _run_as() -> str | None:
    """The user the server runs as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise EmbeddedDatabaseError(
            "running as root needs the `postgres` system user (from Debian's postgresql package)"
        ) from exc
    return "postgres"


def _run(args: list[str], *, user: str | None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, user=user, capture_output=True, text=True, cwd="/")
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise EmbeddedDatabaseError(f"{Path(args[0]).name} failed: {detail[-1] if detail else ''}")
    return proc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _check_reachable(path: Path, user: str | None) -> None:
    if user is None:
        return
    proc = subprocess.run(["test", "-x", str(path)], user=user, check=False)
    if proc.returncode != 0:
        raise EmbeddedDatabaseError(
            f"the `{user}` user cannot reach {path}; set SHUDI_HOME to a folder it can enter"
        )


def is_running(cluster: Cluster) -> bool:
    """Whether the cluster's postmaster is up."""
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    proc = _run(
        [str(_bindir() / "pg_ctl"), "status", "-D", str(cluster.data_dir)],
        user=_run_as(),
        check=False,
    )
    return proc.returncode == 0


def init(cluster: Cluster) -> None:
    """Create the cluster's files (once)."""
    if (cluster.data_dir / "PG_VERSION").exists():
        return
    user = _run_as()
    for sub in (cluster.data_dir, cluster.socket_dir, cluster.log_file.parent):
        sub.mkdir(parents=True, exist_ok=True)
    _chown_tree(cluster.root, user)
    _check_reachable(cluster.root, user)
    os.chmod(cluster.data_dir, 0o700)
    _run(
        [
            str(_bindir() / "initdb"),
            "-D",
            str(cluster.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        user=user,
    )
    conf = cluster.data_dir / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write("\ninclude_if_exists = 'shudi.conf'\n")
    _write_conf(cluster, _free_port())


def _write_conf(cluster: Cluster, port: int) -> None:
    (cluster.data_dir / "shudi.conf").write_text(
        SERVER_CONF.format(port=port, socket_dir=cluster.socket_dir)
    )
    cluster.port_file.write_text(f"{port}\n")
    _chown_tree(cluster.data_dir, _run_as())


def start(cluster: Cluster, *, timeout_s: int = 60) -> None:
    """Initialise if needed, start the server and create the database with PostGIS."""
    init(cluster)
    if not is_running(cluster):
        if _port_taken(cluster.port):
            _write_conf(cluster, _free_port())
        _run(
            [
                str(_bindir() / "pg_ctl"),
                "start",
                "-D",
                str(cluster.data_dir),
                "-w",
                "-t",
                str(timeout_s),
                "-l",
                str(cluster.log_file),
            ],
            user=_run_as(),
        )
    _ensure_database(cluster)


def _connect(cluster: Cluster, db: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(
        dbname=db, user="postgres", host=str(cluster.socket_dir), port=cluster.port
    )
    conn.autocommit = True
    return conn


def _ensure_database(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = _connect(cluster, "postgres")
            break
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise EmbeddedDatabaseError(f"the embedded server does not answer: {exc}") from exc
            time.sleep(0.3)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cluster.db_name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{cluster.db_name}"')
    conn.close()
    conn = _connect(cluster, cluster.db_name)
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()


def stop(cluster: Cluster) -> bool:
    """Stop the server if it runs; True when it was running."""
    if not is_running(cluster):
        return False
    _run(
        [str(_bindir() / "pg_ctl"), "stop", "-D", str(cluster.data_dir), "-m", "fast", "-w"],
        user=_run_as(),
    )
    return True


def status(cluster: Cluster) -> dict[str, object]:
    """What `shudi db status` prints."""
    running = is_running(cluster)
    info: dict[str, object] = {"root": str(cluster.root), "running": running}
    with contextlib.suppress(EmbeddedDatabaseError):
        info["port"] = cluster.port
        info["url"] = cluster.url()
    return info
