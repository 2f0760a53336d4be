"""Open cases that arrive by import are on the clock: the file's own deadline (办理时限 /
截止时间, or ``--field due_at=COLUMN``), else the type's time limit from the reported time on
the working-day calendar; closed ones keep none unless the file gives one.

The expected deadlines are worked by hand from the policy's words (一般: respond within 4
working hours, resolve within 7 working days; office hours 08:30–12:00, 13:30–17:30) on the
State Council's 2024 schedule: National Day off 1–7 October, Sunday 29 September and Saturday
12 October working days (调休); Saturday 28 September off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, load_mini

from assessment.period import Period
from assessment.service import assess
from incidents.history import import_cases
from incidents.reminders import send_reminders
from jurisdictions import catalog
from meetings.agenda import overdue, window

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def vtype(conn: Connection) -> str:
    load_mini(conn)
    catalog.sync_taxonomy(conn)
    # a dispute type: the ordinary level, no stop deadline, no urgency rule
    code = conn.execute(
        text("""SELECT code FROM violation_type WHERE reportable AND active
                AND scope = 'dispute' ORDER BY code LIMIT 1""")
    ).scalar_one()
    return str(code)


def cases(conn: Connection) -> list[dict]:
    rows = conn.execute(
        text("""SELECT c.id, c.status, c.urgency, c.respond_due_at, c.stop_due_at, c.due_at,
                       c.deadline_basis
                FROM case_file c JOIN case_event e ON e.case_id = c.id AND e.action = 'import'
                ORDER BY (e.data->>'line')::int""")
    )
    return [dict(r) for r in rows.mappings()]


def test_open_rows_get_deadlines_closed_rows_only_the_files(
    conn: Connection, vtype: str, tmp_path: Path
) -> None:
    x, y = IN_P111
    path = tmp_path / "12345.csv"
    path.write_text(
        "lon,lat,type,reported_at,closed_at,status,办理时限\n"
        # 1 open, in office hours on Friday 27 Sep: 10–12 + 13:30–15:30 → respond 15:30;
        #   7 working days: 29 Sep, 30 Sep, 8, 9, 10, 11, 12 Oct → 12 Oct 10:00 (Shanghai)
        f"{x},{y},{vtype},2024-09-27 10:00,,,\n"
        # 2 open, the export's own deadline wins (8 Oct 17:30 Shanghai = 09:30 UTC)
        f"{x},{y},{vtype},2024-09-27 10:00,,处理中,2024-10-08 17:30\n"
        # 3 open, Saturday evening (a day off): the clock starts Sunday 29 Sep 08:30 (调休):
        #   respond 08:30–12:00 + 13:30–14:00 → 14:00; resolve at the close of the 7th
        #   working day counting 29 Sep as the first → 12 Oct 17:30
        f"{x},{y},{vtype},2024-09-28 20:00,,,\n"
        # 4 closed, no deadline in the file: none
        f"{x},{y},{vtype},2024-01-02 10:00,2024-01-04 10:00,已办结,\n"
        # 5 closed, the file's deadline is kept
        f"{x},{y},{vtype},2024-01-02 10:00,2024-01-04 10:00,已办结,2024-01-05 17:30\n",
        encoding="utf-8",
    )
    assert import_cases(conn, path=path, now=NOW).imported == 5
    one, two, three, four, five = cases(conn)
    assert (one["respond_due_at"], one["stop_due_at"], one["due_at"]) == (
        utc(2024, 9, 27, 7, 30),
        None,
        utc(2024, 10, 12, 2, 0),
    )
    assert one["urgency"] == "ordinary" and "国务院办公厅" in one["deadline_basis"]
    assert (two["respond_due_at"], two["due_at"]) == (None, utc(2024, 10, 8, 9, 30))
    assert "12345.csv" in two["deadline_basis"]
    assert (three["respond_due_at"], three["due_at"]) == (
        utc(2024, 9, 29, 6, 0),
        utc(2024, 10, 12, 9, 30),
    )
    assert (four["respond_due_at"], four["due_at"], four["deadline_basis"]) == (None, None, "")
    assert five["status"] == "closed" and five["due_at"] == utc(2024, 1, 5, 9, 30)

    # on the clock like live cases: reminders, and the town's agenda (kind overdue)
    sent = send_reminders(conn, now=NOW)
    reminded = {(s["case"], s["deadline"]) for s in sent if s["overdue"]}
    assert {(one["id"], "due_at"), (two["id"], "due_at"), (three["id"], "due_at")} <= reminded
    assert not {four["id"], five["id"]} & {case for case, _ in reminded}
    items = overdue(conn, window(town="T1", month=date(2025, 12, 1), as_of=NOW))
    listed = {i for item in items if item.kind == "overdue" for i in item.case_ids}
    assert {one["id"], two["id"], three["id"]} <= listed
    assert not {four["id"], five["id"]} & listed
    # and the assessment of the quarter they were received in counts them overdue
    report = assess(conn, p=Period(date(2024, 7, 1), date(2024, 9, 30), NOW))
    by_kind: dict[str, int] = {}
    for unit in report["units"]:
        by_kind[unit["kind"]] = by_kind.get(unit["kind"], 0) + unit["overdue"]
    assert by_kind and set(by_kind.values()) == {3}, by_kind


def test_the_deadline_column_is_mapped_with_field(
    conn: Connection, vtype: str, tmp_path: Path
) -> None:
    x, y = IN_P111
    path = tmp_path / "export.csv"
    path.write_text(
        "lon,lat,type,reported_at,承诺办结时间\n"
        f"{x},{y},{vtype},2024-09-27 10:00,2024-10-09 12:00\n"
        f"{x},{y},{vtype},2024-09-27 11:00,明天\n",
        encoding="utf-8",
    )
    summary = import_cases(conn, path=path, now=NOW, fields={"due_at": "承诺办结时间"})
    assert summary.imported == 1
    assert [b.reason for b in summary.bad] == [
        "due_at (the deadline) is not a date and time: '明天'"
    ]
    (case,) = cases(conn)
    assert case["due_at"] == utc(2024, 10, 9, 4, 0)
    with pytest.raises(Exception, match="no column '办理时限'"):
        import_cases(conn, path=path, now=NOW, fields={"due_at": "办理时限"})
