"""Restore drill (issue #18, "Backups you have restored"): file cases, ``shudi backup``, file
more, note a time T, file more, destroy the cluster (kill -9, data directory removed),
``shudi restore --to T`` → exactly the cases filed before T, the audit chain verifies, the
personal-data keys still open the reporters' phone numbers, and the cluster serves again.

On a cluster of the test's own in /tmp with its own pgBackRest repository (never the shared
one under ./var). The expected cases are the ids the intake answered while the test filed
them, recorded before T; the expected phones are the ones the test gave. The machinery is
shared with ``make reliability`` (reliability/drill.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from support import IN_P111, load_mini, type_of

from audit import service as audit
from jurisdictions import catalog
from reliability import crash, drill
from shudi import backups, embedded
from shudi.migrate import upgrade

if shutil.which("pgbackrest") is None:
    pytest.skip("pgbackrest is not installed (make install)", allow_module_level=True)

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def cluster() -> Iterator[embedded.Cluster]:
    with crash.own_cluster("shudi-drill-", "shudi_drill") as cl:
        yield cl


@pytest.mark.slow
def test_restore_to_a_moment_brings_back_exactly_the_cases_filed_before_it(
    cluster: embedded.Cluster,
) -> None:
    clock = time.monotonic()
    took_s: dict[str, float] = {}

    def lap(step: str) -> None:
        nonlocal clock
        took_s[step] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    base: Path = cluster.root.parent
    repo = backups.repo_for(cluster)  # the one `shudi backup` uses with SHUDI_HOME=base
    url = cluster.url()
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        type_code = type_of(conn, agency="urban_management")
    audit.seal_pending(engine, wait=True)
    with engine.begin() as conn:
        head = str(audit.head(conn))  # recorded before the backup: still in the restored chain
    engine.dispose()
    tag = f"drill-{uuid.uuid4().hex[:8]}"
    lap("cluster")

    def file(start: int, count: int) -> list[drill.Filed]:
        return drill.file_cases(
            url, tag=tag, start=start, count=count, type_code=type_code, where=IN_P111
        )

    first = file(0, 6)
    before_backup = datetime.now(UTC)
    took = drill.shudi(base, cluster, "backup")
    assert took.returncode == 0, took.stderr
    assert "WAL archiving turned on" in took.stdout, took.stdout
    assert re.search(r"^full backup \S+F in ", took.stdout, re.M), took.stdout
    assert [b["type"] for b in backups.list_backups(repo=repo)] == ["full"]
    lap("backup")

    drill.past_the_first_restorable_moment(repo)
    second = file(6, 6)
    t = drill.moment_after_commit()
    third = file(12, 6)

    # Bad input is refused in one line, and nothing is stopped for it.
    future = (datetime.now(UTC) + timedelta(hours=1)).astimezone(BEIJING).isoformat()
    refused = drill.shudi(base, cluster, "restore", "--to", future)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1, refused.stderr
    assert lines[0].startswith("shudi: error: ") and "in the future" in lines[0], lines
    for call, says in [
        (lambda: backups.parse_target(text="yesterday"), "ISO 8601"),
        (lambda: backups.parse_target(text="2026-12-07T20:15:00"), "UTC offset"),
        (lambda: backups.restore(repo=repo, to=before_backup), "before the first backup"),
        (lambda: backups.backup(repo=repo, kind="weekly"), "unknown backup type"),
    ]:
        with pytest.raises(backups.BackupError, match=says):
            call()
    assert embedded.is_running(cluster)
    lap("refusals")

    drill.archive_now(url)  # what a quiet server's archive_timeout does
    drill.destroy(cluster)
    assert not (cluster.data_dir / "PG_VERSION").exists()

    restored = drill.shudi(base, cluster, "restore", "--to", t.astimezone(BEIJING).isoformat())
    assert restored.returncode == 0, restored.stderr
    assert "serving on port" in restored.stdout, restored.stdout
    assert embedded.is_running(cluster)
    lap("destroy and restore")

    expected = {f.id: f.phone for f in first + second}
    after_t = {f.id for f in third}
    got = drill.stored(url, tag=tag)  # phones opened with the personal-data keys
    assert set(got) == set(expected), (
        f"missing {sorted(set(expected) - set(got))}, "
        f"unexpected {sorted(set(got) - set(expected))} (filed after T: {sorted(after_t)})"
    )
    assert got == expected

    audited = drill.shudi(base, cluster, "audit", "verify", "--head", head)
    assert audited.returncode == 0, audited.stderr
    assert audited.stdout.startswith("ok: "), audited.stdout
    lap("audit")

    # Serving and writable again; the next backup is a full one, and it verifies.
    more = file(18, 1)
    assert more[0].id not in expected
    assert backups.backup(repo=repo)["type"] == "full"
    assert backups.verify(repo=repo)["archiving_checked"]

    # A damaged backup file: verify says so.
    stored = repo.path / "backup" / "shudi"
    victim = next(iter(sorted(stored.glob("*F/pg_data/PG_VERSION*"))))
    victim.write_bytes(b"not a backup file\n")
    with pytest.raises(backups.BackupError, match="damaged"):
        backups.verify(repo=repo)
    lap("after")
    print(f"restore drill steps (s): {took_s}")


@pytest.mark.parametrize("args", [["backup"], ["backup", "verify"], ["restore"]])
def test_external_database_is_refused_in_one_line(args: list[str]) -> None:
    env = os.environ | {"SHUDI_DATABASE_URL": "postgresql://shudi@db.example.org/shudi"}
    exe = str(Path(sys.executable).with_name("shudi"))
    out = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert "SHUDI_DATABASE_URL is set" in lines[0] and "docs/backups.md" in lines[0]
