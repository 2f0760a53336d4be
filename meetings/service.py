"""Preparing, reading, recording and following up joint meetings; all their SQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from accounts.service import Principal
from jurisdictions.active import ACTIVE_BOUNDARIES
from meetings import access
from meetings.agenda import TZ, HotspotSource, build_items, window
from meetings.exceptions import (
    InvalidMeeting,
    MeetingAlreadyHeld,
    MeetingForbidden,
    MeetingNotFound,
    UnknownTown,
)
from meetings.figures import month_figures

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
ACTIVE = f"FROM {ACTIVE_BOUNDARIES} b"


def parse_month(value: str) -> date:
    """``YYYY-MM`` as the first day of that month."""
    m = MONTH.match(value.strip())
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 2000:
        raise InvalidMeeting(f"month must be YYYY-MM, e.g. 2026-11 (got {value!r})")
    return date(int(m[1]), int(m[2]), 1)


def today() -> date:
    """Today in China."""
    return datetime.now(TZ).date()


def town_name(conn: Connection, *, code: str) -> str:
    """The name of an active town/street; :class:`UnknownTown` otherwise."""
    name = conn.execute(
        text(f"SELECT b.name {ACTIVE} WHERE b.layer = 'town' AND b.code = :c"), {"c": code}
    ).scalar()
    if name is None:
        raise UnknownTown(f"no town/street {code!r} in the active town layer")
    return str(name)


def prepare(
    conn: Connection,
    *,
    town: str,
    month: str | None,
    principal: Principal | None,
    kind: str = "regular",
    topic: str = "",
    now: datetime | None = None,
    hotspot: HotspotSource | None = None,
) -> dict[str, Any]:
    """Build a town's agenda and keep it as a draft meeting: the month's regular meeting
    (refreshed while it is a draft) or a new extraordinary one."""
    now = now or datetime.now(UTC)
    first = parse_month(month) if month else now.astimezone(TZ).date().replace(day=1)
    this_month = now.astimezone(TZ).date().replace(day=1)
    if (first.year - this_month.year) * 12 + first.month - this_month.month > 1:
        raise InvalidMeeting(f"{first:%Y-%m} is too far ahead; prepare at most next month")
    town_name(conn, code=town)
    access.check_manage(principal, town)
    user = principal.user_id if principal else None
    row = conn.execute(
        text(
            """INSERT INTO meeting (town_code, month, kind, topic, as_of, created_by)
               VALUES (:town, :month, :kind, :topic, :now, :user)
               ON CONFLICT (town_code, month) WHERE kind = 'regular' DO UPDATE
                 SET as_of = CASE WHEN meeting.status = 'draft' THEN EXCLUDED.as_of
                                  ELSE meeting.as_of END,
                     topic = CASE WHEN meeting.status = 'draft' THEN EXCLUDED.topic
                                  ELSE meeting.topic END
               RETURNING id, status, held_on"""
            if kind == "regular"
            else """INSERT INTO meeting (town_code, month, kind, topic, as_of, created_by)
                    VALUES (:town, :month, :kind, :topic, :now, :user)
                    RETURNING id, status, held_on"""
        ),
        {"town": town, "month": first, "kind": kind, "topic": topic, "now": now, "user": user},
    ).one()
    if row.status == "held":
        raise MeetingAlreadyHeld(
            f"the {first:%Y-%m} meeting of {town} was held on {row.held_on}; "
            "call an extraordinary meeting for new matters",
            meeting_id=row.id,
        )
    w = window(town=town, month=first, as_of=now, meeting_id=row.id)
    # items proposed from outside the rules (meetings.proposals) stay, after the built ones
    conn.execute(
        text("DELETE FROM meeting_item WHERE meeting_id = :m AND NOT data ? 'proposed_by'"),
        {"m": row.id},
    )
    built = build_items(conn, w, hotspot=hotspot)
    conn.execute(
        text("""UPDATE meeting_item i SET position = :n + k.rank
                FROM (SELECT id, row_number() OVER (ORDER BY position, id) AS rank
                      FROM meeting_item WHERE meeting_id = :m) k
                WHERE i.id = k.id"""),
        {"m": row.id, "n": len(built)},
    )
    for pos, item in enumerate(built, start=1):
        conn.execute(
            text("""INSERT INTO meeting_item (meeting_id, position, kind, title, case_ids, data)
                    VALUES (:m, :p, :k, :t, :c, :d)""").bindparams(bindparam("d", type_=JSONB)),
            {
                "m": row.id,
                "p": pos,
                "k": item.kind,
                "t": item.title,
                "c": item.case_ids,
                "d": item.data,
            },
        )
    conn.execute(
        text("UPDATE meeting SET figures = :f WHERE id = :m").bindparams(
            bindparam("f", type_=JSONB)
        ),
        {"f": month_figures(conn, w), "m": row.id},
    )
    return load(conn, meeting_id=row.id, principal=principal)


def meeting_row(conn: Connection, meeting_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = (
        conn.execute(
            text(f"""SELECT id, town_code, month, kind, status, topic, held_on, minutes_note,
                        figures, as_of, recorded_at FROM meeting WHERE id = :m
                     {"FOR UPDATE" if lock else ""}"""),
            {"m": meeting_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise MeetingNotFound(f"no meeting {meeting_id}")
    return dict(row)


def check_read(conn: Connection, principal: Principal | None, town: str, meeting_id: int) -> None:
    """Raise unless ``principal`` may read the meeting: as :func:`access.check_read`, or as
    the owner of one of its actions (read-only)."""
    try:
        access.check_read(principal, town, meeting_id)
    except (MeetingForbidden, MeetingNotFound):
        assert principal is not None
        where, params = access.owner_clause(principal)
        owned = conn.execute(
            text(f"SELECT 1 FROM meeting_action a WHERE a.meeting_id = :m AND {where} LIMIT 1"),
            params | {"m": meeting_id},
        ).first()
        if owned is None:
            raise


def load(conn: Connection, *, meeting_id: int, principal: Principal | None) -> dict[str, Any]:
    """A meeting with its agenda items, decisions, actions and attendees."""
    m = meeting_row(conn, meeting_id)
    check_read(conn, principal, m["town_code"], meeting_id)
    m["town_name"] = town_name(conn, code=m["town_code"])
    items = conn.execute(
        text("""SELECT id, position, kind, title, case_ids, data, decision FROM meeting_item
                WHERE meeting_id = :m ORDER BY position"""),
        {"m": meeting_id},
    ).mappings()
    actions = conn.execute(
        text("""SELECT id, item_id, owner_kind, owner_code, owner_agency, owner_name, title,
                       due_on, done_on, done_note FROM meeting_action
                WHERE meeting_id = :m ORDER BY id"""),
        {"m": meeting_id},
    ).mappings()
    by_item: dict[int, list[dict[str, Any]]] = {}
    for a in actions:
        by_item.setdefault(a["item_id"], []).append(dict(a))
    m["items"] = [
        dict(i) | {"case_ids": list(i["case_ids"]), "actions": by_item.get(i["id"], [])}
        for i in items
    ]
    m["attendees"] = [
        dict(r)
        for r in conn.execute(
            text("""SELECT party_kind AS party, unit, name FROM meeting_attendee
                    WHERE meeting_id = :m ORDER BY id"""),
            {"m": meeting_id},
        ).mappings()
    ]
    m["month"] = m["month"].strftime("%Y-%m")
    return m


def agenda_json(meeting: dict[str, Any]) -> dict[str, Any]:
    """The agenda in its published JSON form: town, month, items (kind, title, case ids),
    figures."""
    return {
        "town": meeting["town_code"],
        "month": meeting["month"],
        "items": [
            {"kind": i["kind"], "title": i["title"], "case_ids": i["case_ids"]}
            for i in meeting["items"]
        ],
        "figures": meeting["figures"],
    }


def list_meetings(
    conn: Connection, *, principal: Principal, town: str | None = None
) -> list[dict[str, Any]]:
    """Meetings this principal may read, newest month first (for the owner of meeting
    actions who reads no meetings otherwise: the meetings of its actions)."""
    owned, params = "TRUE", dict[str, Any]()
    try:
        only = access.readable_towns(principal)
    except MeetingForbidden:
        only = None
        owned, params = access.owner_clause(principal)
        if owned == "FALSE":
            raise
        owned = f"EXISTS (SELECT 1 FROM meeting_action a WHERE a.meeting_id = m.id AND {owned})"
    rows = conn.execute(
        text(f"""SELECT m.id, m.town_code, to_char(m.month, 'YYYY-MM') AS month, m.kind,
                       m.status, m.topic, m.held_on,
                       (SELECT count(*) FROM meeting_item i WHERE i.meeting_id = m.id) AS items
                FROM meeting m
                WHERE (CAST(:only AS text) IS NULL OR m.town_code = :only)
                  AND (CAST(:town AS text) IS NULL OR m.town_code = :town) AND {owned}
                ORDER BY m.month DESC, m.town_code, m.id DESC LIMIT 500"""),
        params | {"only": only, "town": town},
    ).mappings()
    return [dict(r) for r in rows]
