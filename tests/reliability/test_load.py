"""The load run's client (reliability/mix.py) against a real server: every operation of the
dispatch centre's mix answered with its success status, maps polling with their cursors, no
phone number in a response to a role that may not see it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from support import IN_P111, IN_T2, file_report, live_server, load_mini, type_of

from jurisdictions import catalog
from reliability import load, mix
from shudi.database import make_engine


def test_the_mix_runs_closed_and_open_loop_without_errors_or_phone_leaks(
    scratch_db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            load_mini(conn)
            catalog.sync_taxonomy(conn)
            type_code = type_of(conn, agency="urban_management")
            ids = [
                file_report(conn, IN_P111 if k % 2 else IN_T2, type_code)["id"] for k in range(40)
            ]
            # a third of them dispatched to their agency, for the officers to start
            conn.execute(
                text("""UPDATE case_file SET status = 'dispatched', version = version + 1
                        WHERE id = ANY(:ids) AND handler_party IS NOT NULL"""),
                {"ids": ids[::3]},
            )
        plan = load.make_plan(engine)
        sc = mix.Scenario(plan, load.photo())
        with live_server(scratch_db_url, log=tmp_path / "server.log") as base:
            closed = asyncio.run(mix.closed_loop(base, sc, clients=4, seconds=6))
            opened = asyncio.run(mix.open_loop(base, sc, rate=20, seconds=4))
            resolve = asyncio.run(mix.closed_loop(base, sc, 2, 2, only=mix.RESOLVE))
        with engine.connect() as conn:
            accepted = conn.execute(
                text("SELECT count(*) FROM case_file WHERE status = 'accepted'")
            ).scalar_one()
    finally:
        engine.dispose()

    rows = closed.rows + opened.rows + resolve.rows
    bad = [r for r in rows if not 200 <= r[3] < 300]
    assert not bad, bad[:5]
    seen = {r[1] for r in rows}
    assert set(mix.SHARES) | {mix.FULL, mix.RESOLVE} <= seen, set(mix.SHARES) - seen
    assert len(opened.rows) == 80  # 20/s for 4 s, every one sent and answered
    assert all(m.cursor.startswith("x:") for m in sc.maps)
    assert accepted == sum(1 for r in rows if r[1] == "dispatcher: accept")
    assert sc.scan["bodies"] >= len(closed.rows) + len(opened.rows)  # every mix answer scanned
    assert sc.scan["leaks"] == 0, sc.scan["examples"]
    assert closed.client_cpu_s > 0
