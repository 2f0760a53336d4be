"""A streaming read replica of the embedded cluster, under ``$SHUDI_HOME/pg-replica``.

PostgreSQL's own physical replication: :func:`start` gives the primary a replication role
(``shudi_replicator``, a random ``scram-sha-256`` password kept beside the other passwords in
``$SHUDI_HOME/pg/secrets/``) and a physical replication slot (``shudi_replica``: the primary
keeps the WAL the replica has not received, even while it is stopped), copies the primary with
``pg_basebackup -R`` (which writes ``standby.signal`` and ``primary_conninfo``), gives the copy
its own port and socket folder and starts it as a hot standby (``hot_standby = on``; the
primary already runs with ``wal_level = replica``). Reads go to it when
``SHUDI_DATABASE_READ_URL=embedded`` (see :class:`shudi.read_replica.ReadRouter`).

:func:`stop` stops it and keeps the slot (a restart catches up); ``remove=True`` also deletes
its files and drops the slot, so the primary stops keeping WAL for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import psycopg2

from shudi import embedded
from shudi.embedded import Cluster
from shudi.exceptions import EmbeddedDatabaseError

REPLICATION_ROLE = "shudi_replicator"
SLOT = "shudi_replica"
#: The replica's own settings, after the primary's (``shudi.conf`` is rewritten for it).
STANDBY_CONF = """\
hot_standby = on
hot_standby_feedback = off
max_standby_streaming_delay = '30s'
"""


def replica_of(primary: Cluster) -> Cluster:
    """The replica beside ``primary`` (``<SHUDI_HOME>/pg-replica``)."""
    return Cluster(root=primary.root.parent / "pg-replica", db_name=primary.db_name)


def _require_primary(primary: Cluster) -> None:
    if not embedded.is_running(primary):
        raise EmbeddedDatabaseError(
            f"the embedded primary at {primary.root} is not running; run `shudi db start`"
        )


def _ensure_role_and_slot(primary: Cluster) -> None:
    conn = embedded._connect(primary, "postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_ROLE,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute("SET password_encryption = 'scram-sha-256'")
            cur.execute(
                f"{verb} ROLE {REPLICATION_ROLE} WITH REPLICATION LOGIN PASSWORD %s",
                (primary.password(REPLICATION_ROLE),),
            )
            cur.execute(
                "SELECT pg_create_physical_replication_slot(%s) WHERE NOT EXISTS "
                "(SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)",
                (SLOT, SLOT),
            )
    finally:
        conn.close()


def _base_backup(primary: Cluster, replica: Cluster) -> None:
    user = embedded._run_as()
    for sub in (replica.socket_dir, replica.log_file.parent):
        sub.mkdir(parents=True, exist_ok=True)
    embedded._chown_tree(replica.root, user)
    conninfo = (
        f"host={primary.socket_dir} port={primary.port} user={REPLICATION_ROLE} "
        f"application_name={SLOT}"
    )
    env = os.environ | {"PGPASSWORD": primary.password(REPLICATION_ROLE)}
    proc = subprocess.run(
        [
            str(embedded._bindir() / "pg_basebackup"),
            "-D",
            str(replica.data_dir),
            "-d",
            conninfo,
            "-X",
            "stream",
            "-S",
            SLOT,
            "-R",
            "--checkpoint=fast",
        ],
        user=user,
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
    )
    if proc.returncode != 0:
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise EmbeddedDatabaseError(f"pg_basebackup failed: {detail[-1] if detail else ''}")
    _write_conf(replica, embedded._free_port())


def _write_conf(replica: Cluster, port: int) -> None:
    """The replica's ``shudi.conf`` (the primary's settings, its own port and socket folder,
    hot standby) in place of the copied one."""
    conf = embedded.SERVER_CONF.format(port=port, socket_dir=replica.socket_dir)
    (replica.data_dir / "shudi.conf").write_text(conf + STANDBY_CONF)
    replica.port_file.write_text(f"{port}\n")
    embedded._chown_tree(replica.root, embedded._run_as())


def start(*, primary: Cluster, timeout_s: int = 60) -> Cluster:
    """Make the replica (once: a base backup of the running primary) and start it."""
    _require_primary(primary)
    replica = replica_of(primary)
    _ensure_role_and_slot(primary)
    if not (replica.data_dir / "PG_VERSION").exists():
        _base_backup(primary, replica)
    if not embedded.is_running(replica):
        if embedded._port_taken(replica.port):
            _write_conf(replica, embedded._free_port())
        embedded._run(
            [
                str(embedded._bindir() / "pg_ctl"),
                "start",
                "-D",
                str(replica.data_dir),
                "-w",
                "-t",
                str(timeout_s),
                "-l",
                str(replica.log_file),
            ],
            user=embedded._run_as(),
        )
    return replica


def stop(*, primary: Cluster, remove: bool = False) -> bool:
    """Stop the replica; True when it was running. With ``remove``, also delete its files
    and drop its slot on the primary (which then no longer keeps WAL for it)."""
    replica = replica_of(primary)
    was_running = embedded.stop(replica)
    if remove:
        if embedded.is_running(primary):
            conn = embedded._connect(primary, "postgres")
            try:
                with conn.cursor() as cur:
                    deadline = time.monotonic() + 10  # the walsender ends just after the replica
                    while True:
                        cur.execute(
                            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                            "WHERE slot_name = %s AND NOT active",
                            (SLOT,),
                        )
                        cur.execute(
                            "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)
                        )
                        if cur.fetchone() is None or time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
            finally:
                conn.close()
        shutil.rmtree(replica.root, ignore_errors=True)
    return was_running


def _one(
    primary: Cluster, sql: str, params: tuple[Any, ...] = (), *, on: Cluster | None = None
) -> tuple[Any, ...] | None:
    """One row of ``sql`` as the owner, on ``on`` (the replica) or the primary; the owner's
    password is the primary's (replicated with it)."""
    where = on or primary
    conn = psycopg2.connect(
        dbname=where.db_name,
        user=embedded.OWNER,
        password=primary.password(embedded.OWNER),
        host=str(where.socket_dir),
        port=where.port,
        connect_timeout=5,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            row: tuple[Any, ...] | None = cur.fetchone()
            return row
    finally:
        conn.close()


def status(*, primary: Cluster) -> dict[str, Any]:
    """The replica's state and lag: bytes not yet replayed and ``replay_lag`` from the
    primary's ``pg_stat_replication``, seconds since the last replayed commit from the
    replica's ``pg_last_xact_replay_timestamp()``, and the WAL its slot holds back."""
    _require_primary(primary)
    replica = replica_of(primary)
    made = (replica.data_dir / "PG_VERSION").exists()
    running = made and embedded.is_running(replica)
    info: dict[str, Any] = {"root": str(replica.root), "made": made, "running": running}
    if made:
        info["port"] = replica.port
    sender = _one(
        primary,
        """SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
                  extract(epoch FROM replay_lag)::float8
             FROM pg_stat_replication WHERE application_name = %s""",
        (SLOT,),
    )
    slot = _one(
        primary,
        """SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
             FROM pg_replication_slots WHERE slot_name = %s""",
        (SLOT,),
    )
    info["slot"] = None if slot is None else {"active": slot[0], "retained_bytes": slot[1]}
    info["state"] = sender[0] if sender else ("disconnected" if running else "stopped")
    if sender:
        info["replay_lag_bytes"] = sender[1]
        info["replay_lag_s"] = sender[2] or 0.0  # NULL once idle and caught up
    if running:
        row = _one(
            primary,
            """SELECT pg_is_in_recovery(), pg_is_wal_replay_paused(),
                      extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8""",
            on=replica,
        )
        assert row is not None
        info["standby"], info["replay_paused"], info["last_replay_age_s"] = row
    if not made:
        info["state"] = "not made"
    return info
