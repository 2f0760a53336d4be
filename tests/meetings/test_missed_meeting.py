"""A month in which a town held no joint meeting (三（一）: 联席会议一般每月召开一次) shows up in
the next agenda and in the town's assessment; a meeting held in that month clears both."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, text
from support import IN_P111, file_report

from assessment import service as assessment
from assessment.period import period
from meetings import service

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 2026-11-20 12:00 in China
OCTOBER, SEPTEMBER = date(2026, 10, 1), date(2026, 9, 1)


def _case_in(conn: Connection, month: date) -> int:
    cid = file_report(conn, IN_P111, "household_noise")["id"]
    at = datetime(month.year, month.month, 10, 2, 0, tzinfo=UTC)
    conn.execute(text("UPDATE case_file SET created_at = :t WHERE id = :i"), {"t": at, "i": cid})
    return cid


def _held(conn: Connection, town: str, on: date) -> None:
    conn.execute(
        text("""INSERT INTO meeting (town_code, month, kind, status, held_on, as_of)
                VALUES (:t, :m, 'extraordinary', 'held', :d, :a)"""),
        {"t": town, "m": on.replace(day=1), "d": on, "a": datetime.now(UTC)},
    )


def _missed(conn: Connection) -> list[dict]:
    meeting = service.prepare(
        conn, town="T1", month=None, principal=None, now=NOW, hotspot=lambda conn, **_: []
    )
    return [i for i in meeting["items"] if i["kind"] == "missed_meeting"]


def test_next_agenda_names_a_month_without_a_meeting(conn: Connection, world: dict) -> None:
    assert _missed(conn) == []  # no case, no meeting yet: T1 was not in the system in October
    _case_in(conn, SEPTEMBER)
    (item,) = _missed(conn)
    assert item["title"].startswith("2026年10月未召开物业管理联席会议")
    assert item["case_ids"] == []
    _held(conn, "T1", date(2026, 10, 28))
    assert _missed(conn) == []


def test_assessment_counts_the_months_without_a_meeting(conn: Connection, world: dict) -> None:
    _case_in(conn, SEPTEMBER)
    _held(conn, "T1", date(2026, 9, 15))
    p = period(first=date(2026, 8, 15), last=date(2026, 11, 30), now=NOW)
    units = {(u["kind"], u["unit"]): u for u in assessment.assess(conn, p=p)["units"]}
    t1 = units[("town", "T1")]
    # August is not whole in the period; September (held) and October (not) count; November
    # is not over
    assert t1["meeting_months"] == 2 and t1["months_without_meeting"] == 1
    assert t1["missed_meeting_months"] == ["2026-10"]
    assert all(u["months_without_meeting"] is None for u in units.values() if u["kind"] != "town")
    audit = assessment.audit(conn, p=p, kind="town", unit="T1", figure="months_without_meeting")
    assert audit["months"] == ["2026-10"]
    _held(conn, "T1", date(2026, 10, 2))
    again = {u["unit"]: u for u in assessment.assess(conn, p=p)["units"] if u["kind"] == "town"}
    assert again["T1"]["months_without_meeting"] == 0


def test_every_agenda_item_kind_has_a_label_in_the_exports() -> None:
    """Found by the fuzzing (issue #17): a meeting whose agenda held a missed-meeting item
    answered 500 as PDF/HTML/Excel (no Chinese label for the kind)."""
    from meetings.models import ITEM_KINDS
    from meetings.papers import KIND_ZH

    assert set(ITEM_KINDS) <= set(KIND_ZH), set(ITEM_KINDS) - set(KIND_ZH)
