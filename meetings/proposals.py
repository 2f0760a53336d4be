"""Items proposed for a town's next joint meeting from outside the agenda rules — a planner's
hot-spot cell ("加入联席会议议程" on the hot-spot map).

A proposal goes into the town's next draft meeting (the earliest not yet held, this month or
later); when there is none, this month's regular meeting is prepared (or next month's, when
this month's was held). Proposed items carry ``data.proposed_by`` and survive the refresh of a
draft agenda (:func:`meetings.service.prepare` keeps them after the rule-built items). The
same cell proposed twice for one meeting is kept once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from meetings.agenda import TZ
from meetings.exceptions import InvalidMeeting, MeetingAlreadyHeld

NEXT_DRAFT = text("""
SELECT id, month FROM meeting
WHERE town_code = :town AND status = 'draft' AND month >= :month
ORDER BY month, id LIMIT 1
""")

SAME_CELL = text("""
SELECT id FROM meeting_item
WHERE meeting_id = :m AND kind = 'hotspot' AND data ->> 'cell' = :cell
""")

INSERT = text("""
INSERT INTO meeting_item (meeting_id, position, kind, title, case_ids, data)
SELECT :m, coalesce(max(position), 0) + 1, 'hotspot', :title, :cases, :data
FROM meeting_item WHERE meeting_id = :m
RETURNING id, position
""").bindparams(bindparam("data", type_=JSONB))


def _next_meeting(conn: Connection, *, town: str, now: datetime) -> int:
    from meetings.service import prepare

    this_month = now.astimezone(TZ).date().replace(day=1)
    row = conn.execute(NEXT_DRAFT, {"town": town, "month": this_month}).first()
    if row is not None:
        return int(row.id)
    try:
        return int(prepare(conn, town=town, month=None, principal=None, now=now)["id"])
    except MeetingAlreadyHeld:
        following = (
            f"{this_month.year + 1}-01"
            if this_month.month == 12
            else f"{this_month.year}-{this_month.month + 1:02d}"
        )
        return int(prepare(conn, town=town, month=following, principal=None, now=now)["id"])


def propose_hotspot(
    conn: Connection,
    *,
    town: str,
    cell: str,
    title: str,
    case_ids: list[int],
    proposed_by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add a hot-spot cell with its cases to ``town``'s next meeting; returns the meeting id,
    the item id and position, and whether it was there already."""
    if not case_ids:
        raise InvalidMeeting("a hot-spot cell without cases is not an agenda item")
    meeting = _next_meeting(conn, town=town, now=now or datetime.now(UTC))
    existing = conn.execute(SAME_CELL, {"m": meeting, "cell": cell}).scalar()
    if existing is not None:
        return {"meeting_id": meeting, "item_id": int(existing), "already": True}
    row = conn.execute(
        INSERT,
        {
            "m": meeting,
            "title": f"热点：{title}",
            "cases": sorted(set(case_ids)),
            "data": {"cell": cell, "proposed_by": proposed_by, "rule": "planner"},
        },
    ).one()
    return {
        "meeting_id": meeting,
        "item_id": int(row.id),
        "position": row.position,
        "already": False,
    }
