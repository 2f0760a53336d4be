"""The resident's view of a case, by its tracking code: status, deadline, public events and
their public replies, photos; nobody's personal data, no staff notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from incidents import public_text
from incidents.exceptions import CaseNotFound
from incidents.workflow import allowed_actions


def track_photo(conn: Connection, *, tracking_code: str, photo_id: int) -> tuple[bytes, str]:
    """A photo of the case a tracking code follows (re-encoded on intake, without EXIF)."""
    row = conn.execute(
        text("""SELECT content, mime FROM case_photo
                 WHERE id = :p AND case_id = :c AND stage IN ('report', 'after')"""),
        {"p": photo_id, "c": case_for_code(conn, tracking_code)},
    ).first()
    if row is None:
        raise CaseNotFound("no such photo on the case of that tracking code")
    return bytes(row.content), str(row.mime)


def case_for_code(conn: Connection, code: str) -> int:
    row = conn.execute(
        text("SELECT case_id FROM case_reporter WHERE tracking_code = :t"),
        {"t": code.strip().upper()},
    ).first()
    if row is None:
        raise CaseNotFound("no case with that tracking code")
    case_id = int(row.case_id)
    for _ in range(10):  # follow merges to the surviving case
        nxt = conn.execute(
            text("SELECT merged_into FROM case_file WHERE id = :i"), {"i": case_id}
        ).scalar_one()
        if nxt is None:
            break
        case_id = int(nxt)
    return case_id


def track(conn: Connection, *, tracking_code: str) -> dict[str, Any]:
    """The resident's view: status, deadline, public events and their public replies (phone and
    ID numbers masked); nobody's personal data, no staff notes."""
    case_id = case_for_code(conn, tracking_code)
    case = (
        conn.execute(
            text("""SELECT c.status, c.type_code, vt.name_zh AS type_name,
            c.created_at, c.due_at, c.closed_at, c.outcome,
            c.satisfaction, c.handler_name, c.town_code, c.community_code,
            c.description, c.input_crs,
            -- the public position: the 0.001° grid of Open311 and the public map (~100 m)
            round(c.lon::numeric, 3)::float8 AS lon, round(c.lat::numeric, 3)::float8 AS lat,
            c.routing->'territory'->'town'->>'name' AS town_name,
            c.routing->'territory'->'community'->>'name' AS community_name,
            c.routing->'property_area'->>'name' AS property_area_name,
            ARRAY(SELECT p.id FROM case_photo p WHERE p.case_id = c.id AND p.stage = 'report'
                  ORDER BY p.id) AS photo_ids,
            -- the handler's after-photos show what was done; before-photos stay inside
            ARRAY(SELECT p.id FROM case_photo p WHERE p.case_id = c.id AND p.stage = 'after'
                  ORDER BY p.id) AS after_photo_ids
        FROM case_file c JOIN violation_type vt ON vt.code = c.type_code
        WHERE c.id = :id"""),
            {"id": case_id},
        )
        .mappings()
        .one()
    )
    evs = conn.execute(
        text("""SELECT at, action, to_status, public_reply FROM case_event
        WHERE case_id = :c AND public ORDER BY id"""),
        {"c": case_id},
    ).all()
    events = [
        {"at": e.at, "action": e.action, "to_status": e.to_status}
        | ({"public_reply": public_text.mask(e.public_reply)} if e.public_reply else {})
        for e in evs
    ]
    rejected = [e.public_reply for e in evs if e.action == "reject"]
    return {
        "tracking_code": tracking_code.strip().upper(),
        **dict(case),
        "description": public_text.mask(case["description"]) if case["description"] else "",
        # the reason as told to the public (the staff's note on the rejection stays inside)
        "rejection_reason": public_text.mask(rejected[-1])
        if case["status"] == "rejected" and rejected and rejected[-1]
        else None,
        "events": events,
        "allowed_actions": allowed_actions(case["status"], {"reporter"}),
    }
