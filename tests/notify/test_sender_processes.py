"""Senders side by side (FOR UPDATE SKIP LOCKED), a crash between sending and marking, and the
``shudi notify`` commands, on a database of their own (these commit)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from protocol_servers import Received, http_server
from sqlalchemy import Engine, create_engine, text

from notify.channels import FileSink, Transport, Webhook
from notify.sender import deliver_due
from shudi.settings import Settings

SHUDI = str(Path(sys.executable).with_name("shudi"))


@pytest.fixture
def engine(scratch_db_url: str) -> Iterator[Engine]:
    eng = create_engine(scratch_db_url)
    yield eng
    eng.dispose()


def add_staff_messages(engine: Engine, n: int) -> list[str]:
    keys = [uuid.uuid4().hex for _ in range(n)]
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO notify_message (key, channel, audience, template,
                        template_version, recipient, recipient_masked, recipient_digest, body)
                    VALUES (:k, 'staff', 'staff', 'unit_assigned', 1, 'urban_management/U1',
                            '城管一中队', 'urban_management/U1', :b)"""),
            [{"k": k, "b": f"【新案件】第{i}件"} for i, k in enumerate(keys)],
        )
    return keys


def everywhere(t: Transport) -> dict[str, Transport]:
    return {"sms": t, "email": t, "staff": t}


def test_two_senders_never_take_the_same_message(engine: Engine, tmp_path: Path) -> None:
    keys = add_staff_messages(engine, 5)
    sink = FileSink(tmp_path / "sink.jsonl")
    s = Settings(notify_quiet_hours="off")
    with engine.connect() as a, engine.connect() as b:
        ta = a.begin()
        first = deliver_due(a, transports=everywhere(sink), settings=s, limit=3)
        tb = b.begin()  # while the first sender still holds its three
        second = deliver_due(b, transports=everywhere(sink), settings=s, limit=10)
        ta.commit()
        tb.commit()
    assert first["sent"] == 3 and second["sent"] == 2
    sent = [json.loads(line)["key"] for line in (tmp_path / "sink.jsonl").read_text().splitlines()]
    assert sorted(sent) == sorted(keys)
    with engine.connect() as c:
        states = c.execute(text("SELECT state, count(*) FROM notify_message GROUP BY 1")).all()
    assert [tuple(r) for r in states] == [("sent", 5)]


def test_a_crash_before_marking_resends_with_the_same_key(engine: Engine) -> None:
    (key,) = add_staff_messages(engine, 1)
    seen: dict[str, int] = {}

    def answer(got: Received) -> tuple[int, dict[str, Any]]:  # honours Idempotency-Key
        k = got.headers["idempotency-key"]
        seen[k] = seen.get(k, 0) + 1
        return 200, {"duplicate": seen[k] > 1}

    s = Settings(notify_quiet_hours="off")
    with http_server(answer) as server:
        hook = everywhere(Webhook(server.url, "secret"))
        with engine.connect() as conn:
            tx = conn.begin()
            assert deliver_due(conn, transports=hook, settings=s)["sent"] == 1
            tx.rollback()  # the sender died after the channel took the message
        with engine.begin() as conn:
            assert conn.execute(text("SELECT state FROM notify_message")).scalar_one() == "pending"
            assert deliver_due(conn, transports=hook, settings=s)["sent"] == 1
    assert seen == {key: 2}  # delivered twice, visible once where the key is honoured
    assert len(server.received) == 2


def shudi(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = os.environ | {"SHUDI_DATABASE_URL": url, "SHUDI_NOTIFY_SINK": str(home / "sink.jsonl"),
                        "SHUDI_NOTIFY_QUIET_HOURS": "off"}  # fmt: skip
    return subprocess.run([SHUDI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_notify_commands(engine: Engine, scratch_db_url: str, tmp_path: Path) -> None:
    keys = add_staff_messages(engine, 2)
    status = shudi(scratch_db_url, tmp_path, "notify", "status")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["counts"] == [{"state": "pending", "channel": "staff", "n": 2}]
    run = shudi(scratch_db_url, tmp_path, "notify", "run", "--once")
    assert run.returncode == 0 and "2 message(s) handled" in run.stdout, run.stderr
    assert len((tmp_path / "sink.jsonl").read_text().splitlines()) == 2
    with engine.begin() as conn:
        conn.execute(text("UPDATE notify_message SET state = 'dead' WHERE key = :k"),
                     {"k": keys[0]})  # fmt: skip
        conn.execute(text("UPDATE notify_message SET created_at = now() - interval '100 days' "
                          "WHERE key = :k"), {"k": keys[1]})  # fmt: skip
    retry = shudi(scratch_db_url, tmp_path, "notify", "retry")
    assert retry.returncode == 0 and "1 message(s) queued again" in retry.stdout
    purge = shudi(scratch_db_url, tmp_path, "notify", "purge", "--days", "90")
    assert purge.returncode == 0 and "1 message(s) purged" in purge.stdout
    bad = shudi(scratch_db_url, tmp_path, "notify", "preview", "no_such", "--case", "1")
    assert bad.returncode == 1 and bad.stderr.startswith("shudi: error: no template 'no_such'")
    missing = shudi(scratch_db_url, tmp_path, "notify", "retry", "999999")
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1


def test_compose_runs_a_sender_beside_the_app() -> None:
    import yaml

    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["notify"]["command"] == ["shudi", "notify", "run"]
    assert services["app"]["environment"]["SHUDI_NOTIFY_IN_SERVER"] == "0"
