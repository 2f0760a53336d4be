"""kill -9 of the outbox sender and of PostgreSQL during a burst of reports with notifications →
every acknowledged report's message reaches a channel that honours the idempotency key exactly
once, none lost (issue #16; the 5,000-report run is ``python -m reliability.run --only
outbox``).

The machinery is reliability/outbox_fault.py: a cluster of its own, ``shudi serve --no-notify``,
a separate ``shudi notify run`` delivering to a local signed-webhook server (benchmarks/sinks.py)
that keeps the first delivery of each key and counts raw ones.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from support import load_mini

from jurisdictions import catalog
from reliability import outbox_fault

REPORTS = 600
WHERE = (120.002, 30.002)  # inside the mini district (T1 / C11 / P111)


def _mini(engine: Engine) -> tuple[str, tuple[float, float]]:
    with engine.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        code = conn.execute(
            text("""SELECT code FROM violation_type WHERE agency = 'urban_management'
                    AND reportable AND active ORDER BY code LIMIT 1""")
        ).scalar_one()
    return str(code), WHERE


def test_kill9_of_sender_and_database_loses_and_repeats_no_message(tmp_path: Path) -> None:
    lines: list[str] = []
    f = outbox_fault.drill(lines.append, tmp_path, reports=REPORTS, prepare=_mini)
    summary = f"{f} | " + " / ".join(lines)
    print(summary)
    assert f["acknowledged"] >= REPORTS * 0.9, summary  # failed ones were sent again
    assert 0 < f["delivered_before_sender_kill"] < f["acknowledged"], summary  # killed at work
    assert f["lost"] == 0, summary
    assert f["not_exactly_once"] == 0, summary
    assert f["unknown_keys"] == 0, summary
    assert f["unsent"] == 0, summary
    assert f["delivered"] >= f["acknowledged"], summary
