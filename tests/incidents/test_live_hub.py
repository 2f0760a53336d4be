"""The live map's hub (``incidents/live.py``) and the process's LISTEN connection
(``shudi/listen.py``) in-process, on a scratch database whose writes commit: log-ins checked
again, a listener that loses its connection catching up, a slow reader dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import Engine, create_engine, text
from support import IN_P111, IN_T2, load_mini

from accounts.models import Role
from accounts.service import (
    Principal,
    create_user,
    issue_token,
    principal_for_token,
    revoke_token,
)
from incidents import live
from incidents.intake import Report, create_case
from jurisdictions import catalog
from shudi import database, settings
from shudi.listen import listener

WITHIN_S = 3.0
PASSWORD = "correct horse battery"


@pytest.fixture
def service_db(scratch_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The scratch database as the app's own (``get_engine``), with the mini district and a
    dispatcher and a town coordinator (T1) logged in."""
    monkeypatch.setenv("SHUDI_DATABASE_URL", scratch_db_url)
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    eng = create_engine(scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        create_user(conn, username="town1", password=PASSWORD, role="town_coordinator",
                    town_code="T1")  # fmt: skip
    yield eng
    eng.dispose()
    database.get_engine().dispose()
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()


def log_in(eng: Engine, username: str) -> tuple[Principal, str]:
    with eng.begin() as conn:
        uid = conn.execute(
            text("SELECT id FROM app_user WHERE username = :u"), {"u": username}
        ).scalar_one()
        row = conn.execute(text("SELECT * FROM app_user WHERE id = :i"), {"i": uid}).mappings()
        spec = dict(row.one())
        who = Principal(user_id=uid, username=username, role=Role(spec["role"]),
                        town_code=spec["town_code"])  # fmt: skip
        token, _ = issue_token(conn, principal=who)
        assert principal_for_token(conn, token=token) == who
    return who, token


def file_case(eng: Engine, where: tuple[float, float]) -> int:
    with eng.begin() as conn:
        kind = catalog.list_types(conn, reportable=True)[0]["code"]
        return int(create_case(conn, report=Report(lon=where[0], lat=where[1], type=kind)).id)


async def next_event(stream: live.Stream, timeout: float = WITHIN_S) -> dict | None:
    chunk = await asyncio.wait_for(stream.queue.get(), timeout)
    if chunk is None:
        return None
    data = chunk.split(b"\ndata: ", 1)[1].rstrip(b"\n")
    return dict(orjson.loads(data))


def test_a_revoked_log_in_or_a_changed_scope_closes_the_stream(service_db: Engine) -> None:
    disp, disp_token = log_in(service_db, "disp")
    town, town_token = log_in(service_db, "town1")

    async def scenario() -> None:
        hub = live.hub()
        a = hub.open(principal=disp, token=disp_token, cursor=None)
        b = hub.open(principal=town, token=town_token, cursor=None)
        assert (await next_event(a)) is not None and (await next_event(b)) is not None
        assert await hub.revalidate() == 0 and not a.closed and not b.closed
        with service_db.begin() as conn:
            revoke_token(conn, token=disp_token)
            conn.execute(text("UPDATE app_user SET town_code = 'T2' WHERE username = 'town1'"))
        assert await hub.revalidate() == 2
        assert a.closed and b.closed and hub.streams == set()
        await hub.stop()

    asyncio.run(scenario())


def test_a_listener_that_lost_its_connection_catches_up(service_db: Engine) -> None:
    disp, token = log_in(service_db, "disp")

    async def scenario() -> None:
        hub = live.hub()
        with service_db.connect() as conn:
            since = conn.execute(text("SELECT 'x:' || pg_snapshot_xmin(pg_current_snapshot())"))
            cursor = since.scalar_one()
        stream = hub.open(principal=disp, token=token, cursor=cursor)
        lis = listener()
        await asyncio.wait_for(lis.connected.wait(), WITHIN_S)
        first = await asyncio.to_thread(file_case, service_db, IN_P111)
        got = await next_event(stream)
        assert got is not None and got["cases"]["id"] == [first]
        # the listening backend is killed; a case filed meanwhile is told on reconnection
        with service_db.connect() as conn:
            conn.execute(
                text("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                 WHERE application_name = 'shudi-listen'""")
            )
        while lis.connected.is_set():
            await asyncio.sleep(0.01)
        missed = await asyncio.to_thread(file_case, service_db, IN_T2)  # no one listens
        assert not lis.connected.is_set()
        got = await next_event(stream, timeout=10)
        assert got is not None and missed in got["cases"]["id"] and lis.reconnects == 1
        await hub.stop()
        await lis.stop()

    asyncio.run(scenario())


def test_a_reader_too_far_behind_is_dropped() -> None:
    async def scenario() -> None:
        who = Principal(user_id=1, username="d", role=Role.dispatcher)
        stream = live.Stream(principal=who, token="t", cursor="x:1", key=live.scope_key(who))
        for k in range(live.MAX_PENDING):
            stream.push(live.event("cases", f"x:{k}", {"n": k}))
        assert not stream.closed
        stream.push(live.event("cases", "x:99", {"n": 99}))
        assert stream.closed  # it resumes from its Last-Event-ID when it reconnects

    asyncio.run(scenario())


def test_streams_of_one_scope_share_a_key_and_others_do_not() -> None:
    a = Principal(user_id=1, username="a", role=Role.dispatcher)
    b = Principal(user_id=2, username="b", role=Role.dispatcher)
    t1 = Principal(user_id=3, username="t1", role=Role.town_coordinator, town_code="T1")
    t2 = Principal(user_id=4, username="t2", role=Role.town_coordinator, town_code="T2")
    admin = Principal(user_id=5, username="ad", role=Role.admin)  # sees all, coarser
    assert live.scope_key(a) == live.scope_key(b)
    assert len({live.scope_key(p) for p in (a, t1, t2, admin)}) == 4


def test_a_write_is_announced_after_its_commit_even_by_a_process_that_exits_at_once(
    service_db: Engine, scratch_db_url: str
) -> None:
    """A command that files a case and ends at once (the CLI, an import) still tells the
    live maps: the announcement is sent after the commit, before the process exits."""
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "from sqlalchemy import create_engine\n"
        "from incidents.intake import Report, create_case\n"
        "from jurisdictions import catalog\n"
        f"eng = create_engine({scratch_db_url!r})\n"
        "with eng.begin() as conn:\n"
        "    kind = catalog.list_types(conn, reportable=True)[0]['code']\n"
        f"    create_case(conn, report=Report(lon={IN_P111[0]}, lat={IN_P111[1]}, type=kind))\n"
    )

    async def scenario() -> None:
        lis = listener()
        heard: list[str | None] = []
        lis.subscribe(live.CHANNEL, heard.append)
        lis.start()
        await asyncio.wait_for(lis.connected.wait(), WITHIN_S)
        # once listening, subscribers are told to catch up (a notice sent before was missed)
        assert heard == [None]
        heard.clear()
        root = Path(__file__).resolve().parents[2]
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", script], cwd=root, capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [""]  # one notification, no payload
        await lis.stop()

    asyncio.run(scenario())
