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


#: The case a tracking code follows (its reporter's case, then up to ten merges on to the
#: surviving case, as :func:`case_for_code`), with its public events as parallel arrays: one
#: statement, no row when the code is unknown.
TRACK = """
WITH RECURSIVE chain (id, merged_into, hops) AS (
  SELECT c.id, c.merged_into, 0
  FROM case_reporter r JOIN case_file c ON c.id = r.case_id
  WHERE r.tracking_code = :t
  UNION ALL
  SELECT c.id, c.merged_into, chain.hops + 1
  FROM chain JOIN case_file c ON c.id = chain.merged_into
  WHERE chain.hops < 10
)
SELECT c.status, c.type_code, vt.name_zh AS type_name,
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
             ORDER BY p.id) AS after_photo_ids,
       ev.ats AS _ev_at, ev.actions AS _ev_action, ev.to_statuses AS _ev_to_status,
       ev.replies AS _ev_reply
FROM (SELECT id FROM chain ORDER BY hops DESC LIMIT 1) last
JOIN case_file c ON c.id = last.id
JOIN violation_type vt ON vt.code = c.type_code
CROSS JOIN LATERAL (
  SELECT array_agg(e.at ORDER BY e.id) AS ats, array_agg(e.action ORDER BY e.id) AS actions,
         array_agg(e.to_status ORDER BY e.id) AS to_statuses,
         array_agg(e.public_reply ORDER BY e.id) AS replies
  FROM case_event e WHERE e.case_id = c.id AND e.public
) ev
"""
_EVENT_COLUMNS = ("_ev_at", "_ev_action", "_ev_to_status", "_ev_reply")


def track(conn: Connection, *, tracking_code: str) -> dict[str, Any]:
    """The resident's view: status, deadline, public events and their public replies (phone and
    ID numbers masked); nobody's personal data, no staff notes."""
    row = conn.execute(text(TRACK), {"t": tracking_code.strip().upper()}).mappings().first()
    if row is None:
        raise CaseNotFound("no case with that tracking code")
    case = {k: v for k, v in row.items() if k not in _EVENT_COLUMNS}
    evs = list(
        zip(
            row["_ev_at"] or [],
            row["_ev_action"] or [],
            row["_ev_to_status"] or [],
            row["_ev_reply"] or [],
            strict=True,
        )
    )
    events = [
        {"at": at, "action": action, "to_status": to_status}
        | ({"public_reply": public_text.mask(reply)} if reply else {})
        for at, action, to_status, reply in evs
    ]
    rejected = [reply for _, action, _, reply in evs if action == "reject"]
    return {
        "tracking_code": tracking_code.strip().upper(),
        **case,
        "description": public_text.mask(case["description"]) if case["description"] else "",
        # the reason as told to the public (the staff's note on the rejection stays inside)
        "rejection_reason": public_text.mask(rejected[-1])
        if case["status"] == "rejected" and rejected and rejected[-1]
        else None,
        "events": events,
        "allowed_actions": allowed_actions(case["status"], {"reporter"}),
    }
