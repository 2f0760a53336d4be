"""Point-in-time backups of the embedded cluster with pgBackRest (``shudi backup``/``restore``).

The repository lives beside the cluster, in ``$SHUDI_HOME/backup`` (or ``SHUDI_BACKUP_DIR``,
better on another disk): ``pgbackrest.conf`` (written afresh by every command, so it follows
the cluster's port), ``repo/`` (backups and archived WAL of the stanza ``shudi``), ``log/``
(pgBackRest's own logs: file names, positions in the WAL, timings; never a row of data) and
lock/spool folders.

The first ``shudi backup`` turns continuous archiving on (``archive_mode``, an ``archive_command``
pushing every WAL segment through ``pgbackrest archive-push``; ``archive_timeout`` bounds what a
quiet hour can lose), restarting the cluster once when ``archive_mode`` was off, and creates the
stanza. A full backup is taken the first time, after a restore, and when the last full is
:data:`FULL_EVERY` old; a differential (everything changed since that full) otherwise. The
repository keeps :data:`RETENTION_FULL` full backups with their differentials and the WAL after
them, so a restore can stop at any moment since the older of those fulls.

As root the server runs as ``postgres``; so does pgBackRest (it reads the data directory and is
the archive command's user), and the repository belongs to it.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2

from shudi import embedded
from shudi.exceptions import ShudiError

STANZA = "shudi"
RETENTION_FULL = 2
FULL_EVERY = timedelta(days=7)
ARCHIVE_TIMEOUT_S = 300
RECOVERY_WAIT_S = 600

CONF = """\
# Written by shudi on every `shudi backup`/`restore`; edit shudi/backups.py instead.
[global]
repo1-path={repo}
repo1-retention-full={retention}
log-path={log}
lock-path={lock}
spool-path={spool}
log-level-console=warn
log-level-stderr=warn
log-level-file=info
compress-type=zst
compress-level=3
process-max=2
start-fast=y
archive-timeout=60

[{stanza}]
pg1-path={data}
pg1-socket-path={socket}
pg1-port={port}
pg1-user={user}
"""


class BackupError(ShudiError):
    """A backup or restore that cannot be done, or pgBackRest failing (one line)."""


@dataclass(frozen=True)
class Repo:
    """The pgBackRest repository of one embedded cluster."""

    cluster: embedded.Cluster
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "pgbackrest.conf"

    @property
    def path(self) -> Path:
        return self.root / "repo"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def restored_mark(self) -> Path:
        """Present after a restore: the next backup is a full one."""
        return self.root / "restored"


def repo_for(cluster: embedded.Cluster, *, root: Path | None = None) -> Repo:
    """The repository of ``cluster``: ``root``, or ``backup/`` beside the cluster's folder."""
    return Repo(cluster=cluster, root=(root or cluster.root.parent / "backup").resolve())


def _binary() -> str:
    found = shutil.which("pgbackrest")
    if not found:
        raise BackupError(
            "pgbackrest is not installed; run `make install` (apt-get install pgbackrest)"
        )
    return found


def _configure(repo: Repo) -> None:
    """Folders (the server's user's) and the configuration, written afresh."""
    user = embedded.server_user()
    folders = [repo.root, repo.path, repo.log_dir, repo.root / "lock", repo.root / "spool"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(repo.root, 0o750)
    repo.conf.write_text(
        CONF.format(
            repo=repo.path,
            retention=RETENTION_FULL,
            log=repo.log_dir,
            lock=repo.root / "lock",
            spool=repo.root / "spool",
            stanza=STANZA,
            data=repo.cluster.data_dir,
            socket=repo.cluster.socket_dir,
            port=repo.cluster.port,
            user=embedded.OWNER,
        )
    )
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(repo.conf, entry.pw_uid, entry.pw_gid)
        for folder in folders:
            os.chown(folder, entry.pw_uid, entry.pw_gid)


def _pgbackrest(repo: Repo, command: str, *args: str) -> str:
    """Run one pgBackRest command as the server's user; its stdout, or a one-line error."""
    env = os.environ | {"PGPASSWORD": repo.cluster.password(embedded.OWNER)}
    proc = subprocess.run(
        [_binary(), f"--config={repo.conf}", f"--stanza={STANZA}", command, *args],
        user=embedded.server_user(),
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
    )
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "ERROR:" in ln]
        detail = (errors or lines or [f"exit {proc.returncode}"])[0]
        raise BackupError(f"pgbackrest {command} failed: {detail} (logs: {repo.log_dir})")
    return proc.stdout


def _connect(cluster: embedded.Cluster) -> Any:
    conn = psycopg2.connect(
        dbname="postgres",
        user=embedded.OWNER,
        host=str(cluster.socket_dir),
        port=cluster.port,
        password=cluster.password(embedded.OWNER),
    )
    conn.autocommit = True
    return conn


def _require_running(cluster: embedded.Cluster) -> None:
    if not embedded.is_running(cluster):
        raise BackupError("the embedded cluster is not running; start it with `shudi db start`")


def ensure_archiving(*, repo: Repo) -> list[str]:
    """Turn continuous WAL archiving on (once) and create the stanza; what was done."""
    _binary()
    _require_running(repo.cluster)
    _configure(repo)
    notes: list[str] = []
    command = (
        f"{shlex.quote(_binary())} --config={shlex.quote(str(repo.conf))} "
        f"--stanza={STANZA} archive-push %p"
    )
    wanted = {
        "archive_mode": "on",
        "archive_command": command,
        "archive_timeout": str(ARCHIVE_TIMEOUT_S),
    }
    conn = _connect(repo.cluster)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(wanted),)
            )
            current = dict(cur.fetchall())
            changed = [k for k, v in wanted.items() if current.get(k) != v]
            for name in changed:
                cur.execute(f"ALTER SYSTEM SET {name} = %s", (wanted[name],))
            if changed:
                cur.execute("SELECT pg_reload_conf()")
                time.sleep(0.5)
            cur.execute("SELECT pending_restart FROM pg_settings WHERE name = 'archive_mode'")
            restart = bool(cur.fetchone()[0]) or current.get("archive_mode") != "on"
    finally:
        conn.close()
    if restart:
        embedded.stop(repo.cluster)
        embedded.start(repo.cluster)
        notes.append("WAL archiving turned on: the embedded cluster was restarted once for it")
    elif changed:
        notes.append("archive settings updated: " + ", ".join(changed))
    if not (repo.path / "backup" / STANZA / "backup.info").exists():
        _pgbackrest(repo, "stanza-create")
        notes.append(f"stanza `{STANZA}` created in {repo.path}")
    return notes


def info(*, repo: Repo) -> dict[str, Any]:
    """pgBackRest's JSON about the stanza (backups oldest first, archive range)."""
    if not repo.path.exists():
        return {"backup": [], "archive": []}
    _configure(repo)
    out = json.loads(_pgbackrest(repo, "info", "--output=json") or "[]")
    return out[0] if out else {"backup": [], "archive": []}


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _summary(b: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": b["label"],
        "type": b["type"],
        "started": _at(b["timestamp"]["start"]),
        "finished": _at(b["timestamp"]["stop"]),
        "database_bytes": b["info"]["size"],
        "stored_bytes": b["info"]["repository"]["delta"],
        "wal": f"{b['archive']['start']}..{b['archive']['stop']}",
        "based_on": b.get("prior"),
    }


def list_backups(*, repo: Repo) -> list[dict[str, Any]]:
    """Every backup in the repository, oldest first."""
    return [_summary(b) for b in info(repo=repo).get("backup", [])]


def wal_archived_bytes(*, repo: Repo) -> int:
    """Bytes of archived WAL in the repository (compressed)."""
    base = repo.path / "archive" / STANZA
    return sum(p.stat().st_size for p in base.rglob("*") if p.is_file()) if base.exists() else 0


def _choose(backups: list[dict[str, Any]], repo: Repo, now: datetime) -> str:
    fulls = [b for b in backups if b["type"] == "full"]
    if not fulls or repo.restored_mark.exists():
        return "full"
    if now - _at(fulls[-1]["timestamp"]["stop"]) >= FULL_EVERY:
        return "full"
    return "diff"


def backup(*, repo: Repo, kind: str | None = None) -> dict[str, Any]:
    """Take a backup (``full``, ``diff``, ``incr``; chosen when None); what it did."""
    if kind not in (None, "full", "diff", "incr"):
        raise BackupError(f"unknown backup type {kind!r}: full, diff or incr")
    notes = ensure_archiving(repo=repo)
    before = info(repo=repo).get("backup", [])
    chosen = kind or _choose(before, repo, datetime.now(UTC))
    if chosen != "full" and not before:
        chosen = "full"
        notes.append("no full backup yet: taking a full one")
    t0 = time.monotonic()
    _pgbackrest(repo, "backup", f"--type={chosen}")
    seconds = time.monotonic() - t0
    repo.restored_mark.unlink(missing_ok=True)
    after = info(repo=repo)["backup"]
    return _summary(after[-1]) | {
        "seconds": round(seconds, 2),
        "backups_kept": len(after),
        "wal_archived_bytes": wal_archived_bytes(repo=repo),
        "notes": notes,
    }


def verify(*, repo: Repo) -> dict[str, Any]:
    """Check the latest backup: archiving works now (``pgbackrest check``, when the cluster
    runs) and every backup and WAL file in the repository reads back whole (``verify``)."""
    backups = info(repo=repo).get("backup", [])
    if not backups:
        raise BackupError("no backup yet; take one with `shudi backup`")
    checked = embedded.is_running(repo.cluster)
    if checked:
        _pgbackrest(repo, "check")
    out = _pgbackrest(repo, "verify", "--output=text", "--verbose")
    damage = _damage(out)
    if damage:
        raise BackupError(
            f"the backup repository is damaged: {damage}; take a new full backup "
            "(`shudi backup --type full`)"
        )
    return _summary(backups[-1]) | {"archiving_checked": checked, "verify": out.strip()}


def _damage(report: str) -> str:
    """What ``pgbackrest verify --output=text --verbose`` found wrong ('' when nothing); it
    exits 0 either way, so its report is read."""
    lines = [ln.strip() for ln in report.splitlines()]
    if "status: ok" in lines:
        return ""
    bad = []
    for i, line in enumerate(lines):
        counts = lines[i + 1] if i + 1 < len(lines) else ""
        if line.startswith("backup:") and "status: valid" not in line:
            bad.append(f"{line.split(',')[0]} ({counts})")
        elif line.startswith("archiveId:") and re.search(r":\s*[1-9]", counts):
            bad.append(f"WAL {line.split(',')[0]} ({counts})")
    return "; ".join(bad) or next((ln for ln in lines if "status:" in ln), "no report")


def earliest(*, repo: Repo) -> datetime | None:
    """The first moment a restore can stop at: the end of the oldest backup (next second)."""
    backups = info(repo=repo).get("backup", [])
    return _at(backups[0]["timestamp"]["stop"] + 1) if backups else None


def parse_target(*, text: str) -> datetime:
    """An ISO 8601 time with its UTC offset (``2026-12-07T20:15:00+08:00``)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BackupError(
            f"--to {text!r} is not an ISO 8601 time (e.g. 2026-12-07T20:15:00+08:00)"
        ) from exc
    if at.tzinfo is None:
        raise BackupError(f"--to {text!r} needs its UTC offset (e.g. 2026-12-07T20:15:00+08:00)")
    return at


def _wait_promoted(cluster: embedded.Cluster, target: datetime | None) -> None:
    """Wait until recovery has stopped and the server accepts writes."""
    deadline = time.monotonic() + RECOVERY_WAIT_S
    while time.monotonic() < deadline:
        if not embedded.is_running(cluster):
            tail = cluster.log_file.read_text(errors="replace")[-4000:]
            if "before configured recovery target" in tail and target is not None:
                raise BackupError(
                    f"the archived WAL ends before {target.isoformat()}: restore to an earlier "
                    "time, or to the latest with `shudi restore` (the cluster is stopped)"
                )
            line = next((ln for ln in reversed(tail.splitlines()) if "FATAL" in ln), "")
            raise BackupError(f"the restored cluster did not start: {line.strip()}")
        try:
            conn = _connect(cluster)
        except psycopg2.OperationalError as exc:
            if "password authentication failed" in str(exc):
                raise BackupError(
                    f"the restored database refuses the passwords in {cluster.secrets_dir} "
                    "(made after the backup): put back the copy kept with the backups"
                ) from exc
            time.sleep(0.3)
            continue
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_is_in_recovery()")
                if not cur.fetchone()[0]:
                    return
        finally:
            conn.close()
        time.sleep(0.3)
    raise BackupError(f"the restored cluster still recovers after {RECOVERY_WAIT_S} s")


def restore(
    *, repo: Repo, to: datetime | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Stop the cluster, restore it (delta) to ``to`` (None: the latest archived moment),
    promote it and start it again; what was done."""
    cluster = repo.cluster
    now = now or datetime.now(UTC)
    backups = info(repo=repo).get("backup", [])
    if not backups:
        raise BackupError(f"no backup in {repo.path}; nothing to restore")
    first = _at(backups[0]["timestamp"]["stop"] + 1)
    if to is not None and to > now:
        raise BackupError(f"--to {to.isoformat()} is in the future (now {now.isoformat()})")
    if to is not None and to < first:
        raise BackupError(
            f"--to {to.isoformat()} is before the first backup; the earliest moment a restore "
            f"can stop at is {first.isoformat()}"
        )
    t0 = time.monotonic()
    if embedded.is_running(cluster):
        _pgbackrest(repo, "check")  # the WAL written up to now is archived before stopping
        embedded.stop(cluster)
    cluster.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cluster.data_dir, 0o700)
    user = embedded.server_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(cluster.data_dir, entry.pw_uid, entry.pw_gid)
    args = ["--delta"]
    if to is not None:
        target = to.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        args += ["--type=time", f"--target={target}", "--target-action=promote"]
    _pgbackrest(repo, "restore", *args)
    repo.restored_mark.touch()
    t_restored = time.monotonic()
    embedded.start_server(cluster)
    _wait_promoted(cluster, to)
    embedded.start(cluster)  # the passwords and the database, as after any start
    return {
        "to": to.isoformat() if to else "latest archived",
        "restored_s": round(t_restored - t0, 2),
        "recovered_s": round(time.monotonic() - t_restored, 2),
        "port": cluster.port,
    }
