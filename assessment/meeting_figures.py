"""The towns' joint-meeting figures (三（一）: 联席会议一般每月召开一次; 三（三）: the linkage work
counts in the towns' annual assessment): the whole months of the period that count, and those
in which the town held no joint meeting (rules in :mod:`meetings.held`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from assessment.period import CHINA, Period

FIGURES = ("meeting_months", "months_without_meeting")


def _first_whole_month(first: date) -> date:
    if first.day == 1:
        return first
    return (first.replace(day=1) + timedelta(days=32)).replace(day=1)


def _has_meetings(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT to_regclass('meeting') IS NOT NULL")).scalar())


def meeting_figures(
    conn: Connection, p: Period, _facts: object = None
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per town: months counted, months without a joint meeting, and which ones (YYYY-MM)."""
    if not _has_meetings(conn):
        return {}
    from meetings.held import meeting_months

    months = meeting_months(
        conn, first=_first_whole_month(p.first), until=p.as_of.astimezone(CHINA).date()
    )
    return {
        ("town", "", town): {
            "meeting_months": len(m["counted"]),
            "months_without_meeting": len(m["missed"]),
            "missed_meeting_months": [f"{d:%Y-%m}" for d in m["missed"]],
        }
        for town, m in months.items()
    }


def audit(conn: Connection, *, p: Period, unit: str, figure: str) -> dict[str, Any]:
    """The months (YYYY-MM) behind a town's meeting figure."""
    months: list[str] = []
    if _has_meetings(conn):
        from meetings.held import meeting_months

        found = meeting_months(
            conn,
            first=_first_whole_month(p.first),
            until=p.as_of.astimezone(CHINA).date(),
            town=unit,
        ).get(unit, {})
        key = "missed" if figure == "months_without_meeting" else "counted"
        months = [f"{d:%Y-%m}" for d in found.get(key, [])]
    return {"figure": figure, "kind": "town", "unit": unit, "months": months}
