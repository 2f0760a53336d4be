"""The load run's locust users against a real server: both mixes answered, none failing, no
phone number in a response to a role that may not see it (a short step of reliability/load.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from support import IN_P111, IN_T2, file_report, live_server, load_mini, type_of

from jurisdictions import catalog
from reliability import load
from shudi.database import make_engine


def test_a_short_step_runs_both_mixes_without_errors_or_phone_leaks(
    scratch_db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            load_mini(conn)
            catalog.sync_taxonomy(conn)
            type_code = type_of(conn, agency="urban_management")
            for k in range(30):
                file_report(conn, IN_P111 if k % 2 else IN_T2, type_code)
        plan = load.make_plan(engine, tmp_path)
        with live_server(scratch_db_url, log=tmp_path / "server.log") as base:
            step = load.run_step(base, plan, users=10, seconds=12, workdir=tmp_path)
        with engine.connect() as conn:
            accepted = conn.execute(
                text("SELECT count(*) FROM case_file WHERE status = 'accepted'")
            ).scalar_one()
    finally:
        engine.dispose()

    assert step.requests > 40, step.line()
    assert step.errors == 0, step.line()
    assert {load.REPORT, load.MAP, "track"} <= set(step.per_name), step.line()
    assert step.scan["bodies"] >= step.requests
    assert step.scan["leaks"] == 0, step.scan["examples"]
    transitions = step.per_name.get("transition (If-Match)", {}).get("n", 0)
    assert accepted >= transitions
