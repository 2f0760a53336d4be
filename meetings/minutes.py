"""Recording a held meeting (attendees, decisions, actions) and following actions up; the
actions appear on the linked cases as ``meeting_action`` / ``meeting_action_done`` events."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents.case_notes import note_on_cases
from meetings import access
from meetings.agenda import TZ
from meetings.exceptions import (
    ActionAlreadyDone,
    ActionNotFound,
    InvalidMeeting,
    MeetingAlreadyHeld,
    MeetingNotFound,
    UnknownTown,
)
from meetings.service import ACTIVE, load, meeting_row, today, town_name


def _owner_name(conn: Connection, kind: str, code: str, agency: str | None) -> str:
    """The name of an action's owner; :class:`InvalidMeeting` when it does not exist."""
    if kind == "town":
        try:
            return town_name(conn, code=code)
        except UnknownTown as exc:
            raise InvalidMeeting(exc.message) from exc
    agency_code = code if kind == "agency" else agency
    agency_name = conn.execute(
        text("SELECT name_zh FROM agency WHERE code = :c"), {"c": agency_code}
    ).scalar()
    if agency_name is None:
        raise InvalidMeeting(f"unknown agency {agency_code!r}; see GET /api/v1/agencies")
    if kind == "agency":
        return str(agency_name)
    unit = conn.execute(
        text(f"""SELECT b.name {ACTIVE}
                 WHERE b.layer = 'agency_unit' AND b.agency = :a AND b.code = :c"""),
        {"a": agency, "c": code},
    ).scalar()
    if unit is None:
        raise InvalidMeeting(f"{agency} has no field unit {code!r}")
    return f"{agency_name} {unit}"


def record(
    conn: Connection,
    *,
    meeting_id: int,
    principal: Principal | None,
    held_on: date,
    attendees: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    note: str = "",
) -> dict[str, Any]:
    """Record a held meeting: attendees, decisions per item, actions (each also an event on
    the item's cases), all in the caller's transaction."""
    m = meeting_row(conn, meeting_id, lock=True)
    access.check_read(principal, m["town_code"], meeting_id)
    access.check_manage(principal, m["town_code"])
    if m["status"] == "held":
        raise MeetingAlreadyHeld(f"meeting {meeting_id} was recorded already")
    if held_on > today():
        raise InvalidMeeting("held_on is in the future; record a meeting once it is held")
    if held_on < m["as_of"].astimezone(TZ).date():
        raise InvalidMeeting("held_on is before the agenda was prepared")
    if not attendees:
        raise InvalidMeeting("a meeting needs at least one attendee")
    items = {
        r.id: r
        for r in conn.execute(
            text("SELECT id, title, case_ids FROM meeting_item WHERE meeting_id = :m"),
            {"m": meeting_id},
        )
    }
    seen: set[int] = set()
    for d in decisions:
        if d["item_id"] not in items or d["item_id"] in seen:
            raise InvalidMeeting(f"item {d['item_id']} is not an (undecided) item of this meeting")
        seen.add(d["item_id"])
    for a in attendees:
        conn.execute(
            text("""INSERT INTO meeting_attendee (meeting_id, party_kind, unit, name)
                    VALUES (:m, :p, :u, :n)"""),
            {"m": meeting_id, "p": a["party"], "u": a["unit"], "n": a.get("name", "")},
        )
    for d in decisions:
        item = items[d["item_id"]]
        conn.execute(
            text("UPDATE meeting_item SET decision = :d WHERE id = :i"),
            {"d": d["decision"], "i": item.id},
        )
        for a in d.get("actions", []):
            _add_action(conn, meeting=m, item=item, action=a, held_on=held_on, actor=principal)
    conn.execute(
        text("""UPDATE meeting SET status = 'held', held_on = :h, minutes_note = :n,
                       recorded_by = :u, recorded_at = now() WHERE id = :m"""),
        {"h": held_on, "n": note, "u": principal.user_id if principal else None, "m": meeting_id},
    )
    return load(conn, meeting_id=meeting_id, principal=principal)


def _add_action(
    conn: Connection,
    *,
    meeting: dict[str, Any],
    item: Any,
    action: dict[str, Any],
    held_on: date,
    actor: Principal | None,
) -> None:
    kind, code = action["owner_kind"], action["owner_code"]
    agency = action.get("owner_agency") if kind == "agency_unit" else None
    if kind == "agency_unit" and not agency:
        raise InvalidMeeting("an agency_unit owner needs owner_agency (e.g. public_security)")
    if action["due_on"] < held_on:
        raise InvalidMeeting(f"action {action['title']!r} is due before the meeting")
    name = _owner_name(conn, kind, code, agency)
    action_id = conn.execute(
        text("""INSERT INTO meeting_action (meeting_id, item_id, owner_kind, owner_code,
                    owner_agency, owner_name, title, due_on)
                VALUES (:m, :i, :k, :c, :a, :n, :t, :d) RETURNING id"""),
        {
            "m": meeting["id"],
            "i": item.id,
            "k": kind,
            "c": code,
            "a": agency,
            "n": name,
            "t": action["title"],
            "d": action["due_on"],
        },
    ).scalar_one()
    data = {
        "meeting_id": meeting["id"],
        "action_id": action_id,
        "title": action["title"],
        "owner": {"kind": kind, "code": code, "agency": agency, "name": name},
        "due_on": action["due_on"].isoformat(),
    }
    note_on_cases(
        conn,
        case_ids=item.case_ids,
        action="meeting_action",
        actor=actor,
        data=data,
        note=action["title"],
    )


def complete_action(
    conn: Connection,
    *,
    action_id: int,
    principal: Principal | None,
    done_on: date | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Mark a meeting action done (an event on its cases too); it leaves the follow-ups."""
    row = conn.execute(
        text("""SELECT a.id, a.meeting_id, a.title, a.done_on, a.owner_name, a.owner_kind,
                       a.owner_code, a.owner_agency, m.town_code, m.held_on, i.case_ids
                FROM meeting_action a JOIN meeting m ON m.id = a.meeting_id
                JOIN meeting_item i ON i.id = a.item_id WHERE a.id = :a FOR UPDATE OF a"""),
        {"a": action_id},
    ).first()
    if row is None:
        raise ActionNotFound(f"no meeting action {action_id}")
    if not access.owns(principal, dict(row._mapping)):  # its owner closes it; else a manager
        try:
            access.check_read(principal, row.town_code, row.meeting_id)
        except MeetingNotFound as exc:
            raise ActionNotFound(f"no meeting action {action_id}") from exc
        access.check_manage(principal, row.town_code)
    if row.done_on is not None:
        raise ActionAlreadyDone(f"action {action_id} was done on {row.done_on}")
    done_on = done_on or today()
    if done_on > today() or done_on < row.held_on:
        raise InvalidMeeting("done_on must lie between the meeting and today")
    conn.execute(
        text("""UPDATE meeting_action SET done_on = :d, done_note = :n, done_by = :u
                WHERE id = :a"""),
        {"d": done_on, "n": note, "u": principal.user_id if principal else None, "a": action_id},
    )
    data = {
        "meeting_id": row.meeting_id,
        "action_id": action_id,
        "title": row.title,
        "done_on": done_on.isoformat(),
    }
    note_on_cases(
        conn,
        case_ids=row.case_ids,
        action="meeting_action_done",
        actor=principal,
        data=data,
        note=note,
    )
    return load(conn, meeting_id=row.meeting_id, principal=principal)
