"""A private PostgreSQL + PostGIS cluster under ``$SHUDI_HOME/pg``.

The cluster listens on 127.0.0.1 and on a Unix socket in its own folder, on a free port chosen
when it is created, so it never collides with a system PostgreSQL on 5432. As root, the server
runs as the ``postgres`` system user (created by Debian's packages), since PostgreSQL refuses
to run as root.

Every connection needs a password (``scram-sha-256``, over the socket and TCP alike): no local
user is trusted. Two roles, as in Docker: ``postgres`` owns the database and runs the
migrations; the app connects as ``shudi_app``, which may not alter the audit log. Their
passwords are random, made once, and kept in ``$SHUDI_HOME/pg/secrets/`` (mode 0600, readable
by the user who runs ``shudi`` only). A cluster made by an earlier version (``trust``) is
switched over the next time it is started.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.extensions

from shudi.exceptions import EmbeddedDatabaseError

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
password_encryption = 'scram-sha-256'
"""

#: Who may connect, and how: a password for everyone, over the socket and loopback TCP.
HBA_MARKER = "# Written by shudi: passwords (scram-sha-256) for every connection."
HBA_CONF = f"""{HBA_MARKER}
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
"""
OWNER = "postgres"
APP_ROLE = "shudi_app"


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

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    def password(self, role: str) -> str:
        """The password of ``role`` (``postgres`` or ``shudi_app``), made on first use."""
        path = self.secrets_dir / role
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.secrets_dir, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24) + "\n")
        return path.read_text().strip()

    def _url(self, role: str) -> str:
        return (
            f"postgresql+psycopg2://{role}:{quote(self.password(role), safe='')}@/{self.db_name}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    def url(self) -> str:
        """The owner's SQLAlchemy URL (migrations, tests, scratch databases), over the
        cluster's Unix socket."""
        return self._url(OWNER)

    def app_url(self) -> str:
        """The app's URL: ``shudi_app``, once a migration has given it its password; the
        owner's before (there is no app role before the first migration)."""
        if not (self.secrets_dir / APP_ROLE).exists():
            return self.url()
        return self._url(APP_ROLE)


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


def _run(
    args: list[str], *, user: str | None, check: bool = True
) -> subprocess.CompletedProcess[str]:
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
    pwfile = cluster.root / "initdb-password"  # read by initdb (the server's user), then gone
    pwfile.write_text(cluster.password(OWNER) + "\n")
    os.chmod(pwfile, 0o600)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    try:
        _run(
            [
                str(_bindir() / "initdb"),
                "-D",
                str(cluster.data_dir),
                "-U",
                OWNER,
                "-A",
                "scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            user=user,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    (cluster.data_dir / "pg_hba.conf").write_text(HBA_CONF)
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
    start_server(cluster, timeout_s=timeout_s)
    _require_passwords(cluster)
    _ensure_database(cluster)


def server_user() -> str | None:
    """The system user the server runs as (``postgres`` as root; None: ourselves)."""
    return _run_as()


def start_server(cluster: Cluster, *, timeout_s: int = 60) -> None:
    """Start the postmaster of an existing data directory, nothing more (no initdb, no
    database made): a restored cluster is started this way while it is still recovering."""
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


def _require_passwords(cluster: Cluster) -> None:
    """Switch a cluster made with ``trust`` to passwords (once): give the owner its
    password while trust still lets us in, then write the new pg_hba.conf and reload."""
    hba = cluster.data_dir / "pg_hba.conf"
    try:
        if hba.read_text().startswith(HBA_MARKER):
            return
    except PermissionError:  # not ours to read: made by someone else, leave it
        return
    conn = _connect(cluster, "postgres", wait=True, password=None)
    with conn.cursor() as cur:
        cur.execute("SET password_encryption = 'scram-sha-256'")
        cur.execute(f"ALTER ROLE {OWNER} PASSWORD %s", (cluster.password(OWNER),))
    conn.close()
    hba.write_text(HBA_CONF)
    _chown_tree(cluster.data_dir, _run_as())
    _run([str(_bindir() / "pg_ctl"), "reload", "-D", str(cluster.data_dir)], user=_run_as())
    time.sleep(0.5)  # the postmaster re-reads pg_hba.conf on SIGHUP


def set_app_password(cluster: Cluster) -> bool:
    """Give ``shudi_app`` its password (after a migration made the role); False when the role
    does not exist yet."""
    conn = _connect(cluster, cluster.db_name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            if cur.fetchone() is None:
                return False
            cur.execute(
                f"ALTER ROLE {APP_ROLE} WITH LOGIN PASSWORD %s", (cluster.password(APP_ROLE),)
            )
        return True
    finally:
        conn.close()


_OWNER_PASSWORD = object()


def _connect(
    cluster: Cluster, db: str, *, wait: bool = False, password: object = _OWNER_PASSWORD
) -> psycopg2.extensions.connection:
    """An autocommit connection as the owner (with its password unless ``password=None``);
    with ``wait``, retried for 30 s while the server starts."""
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg2.connect(
                dbname=db,
                user=OWNER,
                host=str(cluster.socket_dir),
                port=cluster.port,
                **({} if password is None else {"password": cluster.password(OWNER)}),
            )
            break
        except psycopg2.OperationalError as exc:
            if not wait or time.monotonic() > deadline:
                raise EmbeddedDatabaseError(f"the embedded server does not answer: {exc}") from exc
            time.sleep(0.3)
    conn.autocommit = True
    return conn


def _ensure_database(cluster: Cluster) -> None:
    conn = _connect(cluster, "postgres", wait=True)
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
