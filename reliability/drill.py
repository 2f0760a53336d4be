"""Restore drill: file cases, back up, file more, note a time T, file more, destroy the cluster,
``shudi restore --to T`` — shared by ``tests/reliability/test_restore_drill.py`` (asserted) and
``make reliability`` (part ``restore``: the sample district, more cases, figures for
docs/reliability.md).

Everything runs on a cluster of the drill's own (a temporary folder, its own port, its own
pgBackRest repository beside it) through the real commands: cases are filed through the intake
use case (``incidents.intake.create_case``, one transaction each, as a request would), the
backup and the restore are the ``shudi`` CLI with ``SHUDI_HOME`` pointed at the drill's folder,
the audit chain is checked by ``shudi audit verify``. "Destroy" is ``kill -9`` of the postmaster
and its backends, then the data directory removed; only the WAL already archived survives, so the
drill forces a WAL switch and waits for the archiver before it (as ``archive_timeout`` does on
a quiet server).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import Result, Section
from incidents.intake import Report, create_case
from reliability import crash
from shudi import backups, embedded
from shudi.pii import get_cipher


@dataclass(frozen=True)
class Filed:
    """A case as the intake answered it, and the phone the drill gave its reporter."""

    id: int
    phone: str


def phone_of(n: int) -> str:
    """A distinct mainland mobile number for the drill's n-th report."""
    return f"139{n:08d}"


def file_cases(
    url: str, *, tag: str, start: int, count: int, type_code: str, where: tuple[float, float]
) -> list[Filed]:
    """``count`` reports through the intake use case, each committed on its own."""
    engine = create_engine(url)
    out = []
    try:
        for n in range(start, start + count):
            with engine.begin() as conn:
                answer = create_case(
                    conn,
                    report=Report(
                        lon=where[0],
                        lat=where[1],
                        type=type_code,
                        description=f"{tag} 演练 {n}",
                        phone=phone_of(n),
                        contact_name=f"演练{n}",
                    ),
                )
            out.append(Filed(answer.id, phone_of(n)))
    finally:
        engine.dispose()
    return out


def shudi(base: Path, cluster: embedded.Cluster, *args: str) -> subprocess.CompletedProcess:
    """The ``shudi`` command on the drill's own cluster (``SHUDI_HOME`` = its folder)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("SHUDI_DATABASE_URL", "SHUDI_BACKUP_DIR")
    }
    env |= {"SHUDI_HOME": str(base), "SHUDI_DB_NAME": cluster.db_name}
    exe = str(Path(sys.executable).with_name("shudi"))
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=600)


def archive_now(url: str, *, timeout_s: float = 60) -> str:
    """Switch to a new WAL segment and wait until the archiver has pushed the old one."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            segment = conn.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar_one()
            conn.commit()
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                done = conn.execute(
                    text("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")
                ).one()
                conn.commit()
                if done.last_archived_wal and done.last_archived_wal >= segment:
                    return str(segment)
                time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError(f"WAL segment {segment} not archived in {timeout_s} s ({done})")


def destroy(cluster: embedded.Cluster) -> None:
    """kill -9 of the server, then its data directory removed."""
    crash.kill9(cluster)
    deadline = time.monotonic() + 10
    while embedded.is_running(cluster) and time.monotonic() < deadline:
        time.sleep(0.1)
    shutil.rmtree(cluster.data_dir)


def stored(url: str, *, tag: str) -> dict[int, str]:
    """The drill's cases in the database: id → the reporter's phone, opened with the
    personal-data keys (``shudi.pii``)."""
    cipher = get_cipher()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("""SELECT c.id, r.phone FROM case_file c
                        JOIN case_reporter r ON r.case_id = c.id
                        WHERE c.description LIKE :p ORDER BY c.id"""),
                {"p": f"{tag} %"},
            ).all()
    finally:
        engine.dispose()
    return {int(r.id): cipher.open(r.phone, column="phone") for r in rows}


def past_the_first_restorable_moment(repo: backups.Repo) -> None:
    """Wait until a restore may stop at the present: the backup's end is kept to the second and
    the first moment a restore can stop at is the next whole second (``backups.earliest``), so a
    T taken within the same second as the backup's end would be refused."""
    first = backups.earliest(repo=repo)
    while first is not None and datetime.now(UTC) <= first:
        time.sleep(0.05)


def moment_after_commit(pause_s: float = 0.05) -> datetime:
    """T: a moment strictly after the last commit and before the next one."""
    time.sleep(pause_s)
    at = datetime.now(UTC)
    time.sleep(pause_s)
    return at


def timed(
    fn: Callable[[], subprocess.CompletedProcess],
) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


#: The reliability run's sizes: cases before the backup, between it and T, after T.
BEFORE, BETWEEN, AFTER = 3_000, 1_000, 500


def _database_bytes(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    finally:
        engine.dispose()


def run(log: Callable[[str], None], workdir: Path) -> Section:
    """The drill on the sample district; its figures as a section of docs/reliability.md."""
    import re
    import uuid

    from benchmarks.intake import load_district, reportable_types, request_points
    from shudi.migrate import upgrade

    mib = 1 / 1_048_576
    sec = Section(
        f"Restore drill: {BEFORE:,} cases, backup, {BETWEEN:,} more, T, {AFTER:,} more, "
        "cluster destroyed, restore to T"
    )
    with crash.own_cluster("shudi-drill-", "shudi_drill") as cluster:
        base = cluster.root.parent
        url = cluster.url()
        log(f"restore: own cluster on port {cluster.port}, sample district")
        upgrade(url)
        engine = create_engine(url)
        try:
            load_district(engine)
            type_code = reportable_types(engine)[0]
            x, y = (float(v) for v in request_points(engine)[0])
        finally:
            engine.dispose()
        tag = f"drill-{uuid.uuid4().hex[:8]}"

        def file(start: int, count: int) -> list[Filed]:
            return file_cases(
                url, tag=tag, start=start, count=count, type_code=type_code, where=(x, y)
            )

        log(f"restore: filing {BEFORE:,} cases")
        first = file(0, BEFORE)
        sealed = shudi(base, cluster, "audit", "verify")
        head = re.search(r"head (\S+);", sealed.stdout)
        if sealed.returncode != 0 or head is None:
            raise RuntimeError(f"audit verify before the backup: {sealed.stderr.strip()}")
        db_bytes = _database_bytes(url)
        log("restore: shudi backup")
        took, backup_s = timed(lambda: shudi(base, cluster, "backup"))
        if took.returncode != 0:
            raise RuntimeError(took.stderr.strip())
        full = backups.list_backups(repo=backups.repo_for(cluster))[-1]
        past_the_first_restorable_moment(backups.repo_for(cluster))
        second = file(BEFORE, BETWEEN)
        t = moment_after_commit()
        third = file(BEFORE + BETWEEN, AFTER)
        archive_now(url)
        wal_bytes = backups.wal_archived_bytes(repo=backups.repo_for(cluster))
        log("restore: kill -9, data directory removed, shudi restore --to T")
        destroy(cluster)
        restored, restore_s = timed(lambda: shudi(base, cluster, "restore", "--to", t.isoformat()))
        if restored.returncode != 0:
            raise RuntimeError(restored.stderr.strip())
        split = re.search(r"in ([\d.]+) s, recovered and promoted in ([\d.]+) s", restored.stdout)
        got = stored(url, tag=tag)
        audited = shudi(base, cluster, "audit", "verify", "--head", head.group(1))
        sec.commands += [
            "shudi backup   # SHUDI_HOME = the drill's own folder",
            f"shudi restore --to {t.isoformat()}",
            f"shudi audit verify --head {head.group(1)}",
        ]

    expected = {f.id: f.phone for f in first + second}
    after_t = {f.id for f in third}
    wrong_phone = sum(1 for i, phone in got.items() if i in expected and expected[i] != phone)
    sec.results += [
        Result(
            "cases filed before T missing after the restore",
            len(set(expected) - set(got)),
            "cases",
            "max",
            target=0,
        ),
        Result(
            "cases filed after T present after the restore",
            len(set(got) & after_t),
            "cases",
            "max",
            target=0,
        ),
        Result(
            "reporters' phones not opening to what was filed", wrong_phone, "cases", "max", target=0
        ),
        Result(
            "audit chain verifies after the restore (1 = yes)",
            int(audited.returncode == 0),
            "",
            "min",
            target=1,
        ),
        Result("database size at the backup", db_bytes * mib, "MiB"),
        Result("full backup stored (zstd)", full["stored_bytes"] * mib, "MiB"),
        Result("full backup: `shudi backup` wall time", backup_s, "s"),
        Result("WAL archived at the restore (zstd)", wal_bytes * mib, "MiB"),
        Result("restore: `shudi restore --to T` wall time", restore_s, "s"),
    ]
    if split:
        sec.results += [
            Result("of which files restored (delta)", float(split.group(1)), "s"),
            Result("of which WAL replayed to T and promoted", float(split.group(2)), "s"),
        ]
    sec.notes += [
        f"cases: {len(first):,} before the backup, {len(second):,} between it and T, "
        f"{len(third):,} after T; {len(got):,} after the restore",
        f"backup: {took.stdout.strip().splitlines()[-1]}",
        f"restore: {restored.stdout.strip()}",
        f"audit: {audited.stdout.strip() or audited.stderr.strip()}",
        "method: reliability/drill.py (the same steps as tests/reliability/test_restore_drill.py, "
        "on the sample district)",
    ]
    return sec
