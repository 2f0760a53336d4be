"""Reading and changing cases, always through the principal's visibility and relations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access, disclosure, privacy, public_text, store
from incidents import tasks as worklist
from incidents.effects import Ctx, effect_for
from incidents.exceptions import (
    CaseNotFound,
    InvalidReport,
    InvalidTransition,
    MissingField,
    PreconditionRequired,
    TransitionForbidden,
    VersionMismatch,
)
from incidents.feeds import cases_geojson as cases_geojson  # the feeds' former home
from incidents.feeds import heat_points as heat_points
from incidents.store import add_event
from incidents.workflow import BY_ACTION, allowed_actions
from notify.service import enqueue_for_event

CASE_FIELDS = """c.id, c.tracking_code, c.type_code, c.scope, c.urgency, c.status, c.channel,
    c.description, c.address_text, c.input_crs, c.lon, c.lat, c.town_code, c.community_code,
    c.property_area_code, c.property_company, c.agency_units, c.handler_party,
    c.handler_unit_code, c.handler_name, c.routing, c.generations, c.created_at, c.updated_at,
    c.version, c.respond_due_at, c.stop_due_at, c.due_at, c.deadline_basis, c.accepted_at,
    c.resolved_at, c.closed_at, c.outcome, c.outcome_note, c.rejection_reason, c.merged_into,
    c.satisfaction, c.hidden, vt.name_zh AS type_name,
    (c.due_at IS NOT NULL AND c.due_at < now()
     AND c.status NOT IN ('resolved', 'closed', 'rejected')) AS overdue"""

#: Columns a workflow effect may set.
WRITABLE = {
    "status",
    "hidden",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "rejection_reason",
    "handler_party",
    "handler_unit_code",
    "handler_name",
    "routing",
    "outcome",
    "outcome_note",
    "due_at",
    "merged_into",
    "satisfaction",
    "lon",
    "lat",
    "town_code",
    "community_code",
    "property_area_code",
    "property_company",
    "agency_units",
    "generations",
    "type_code",
    "scope",
    "input_crs",
}


def _load(
    conn: Connection, *, case_id: int, principal: Principal, lock: bool = False
) -> dict[str, Any]:
    where, params = access.visibility(principal)
    row = (
        conn.execute(
            text(f"""SELECT {CASE_FIELDS} FROM case_file c
                 JOIN violation_type vt ON vt.code = c.type_code
                 WHERE c.id = :id AND {where} {"FOR UPDATE OF c" if lock else ""}"""),
            {"id": case_id, **params},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return dict(row)


def _tasks(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return worklist.case_tasks(conn, case_id)


def get_case(conn: Connection, *, case_id: int, principal: Principal) -> dict[str, Any]:
    """A case as this principal may see it, with the actions it may take now."""
    case = _load(conn, case_id=case_id, principal=principal)
    if access.limited_view(principal, case):
        return {k: case[k] for k in access.LIMITED_FIELDS} | {"allowed_actions": []}
    tasks = _tasks(conn, case_id)
    rel = access.relations(principal, case, tasks)
    case["tasks"] = tasks
    case["allowed_actions"] = allowed_actions(case["status"], rel, case)
    if disclosure.may_see_reporters(conn, principal=principal, case=case, relations=rel):
        case["reporters"] = privacy.reporters(conn, case_id=case_id, principal=principal)
    else:
        disclosure.scrub(case)
    return case


def photos(conn: Connection, *, case_id: int, principal: Principal) -> list[dict[str, Any]]:
    """The photos of a case (metadata; content by :func:`photo`)."""
    if access.limited_view(principal, _load(conn, case_id=case_id, principal=principal)):
        return []
    rows = conn.execute(
        text("""SELECT id, mime, width, height, sha256, taken_at
        FROM case_photo WHERE case_id = :c ORDER BY id"""),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]


def photo(
    conn: Connection, *, case_id: int, photo_id: int, principal: Principal
) -> tuple[bytes, str]:
    """One photo as stored: re-encoded, without EXIF."""
    if access.limited_view(principal, _load(conn, case_id=case_id, principal=principal)):
        raise CaseNotFound(f"no photo {photo_id} on case {case_id}")
    row = conn.execute(
        text("SELECT content, mime FROM case_photo WHERE id = :p AND case_id = :c"),
        {"p": photo_id, "c": case_id},
    ).first()
    if row is None:
        raise CaseNotFound(f"no photo {photo_id} on case {case_id}")
    return bytes(row.content), str(row.mime)


#: The orders of :func:`list_cases`.
LIST_ORDERS = {"due": "c.due_at NULLS LAST, c.id", "newest": "c.created_at DESC, c.id DESC"}
#: Lists count their matches up to this many (``total_capped`` says when there are more).
TOTAL_CAP = 10_000


def list_cases(
    conn: Connection,
    *,
    principal: Principal,
    status: list[str] | None = None,
    type_code: str | None = None,
    agency: str | None = None,
    town: str | None = None,
    community: str | None = None,
    overdue: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
    order: str = "due",
) -> dict[str, Any]:
    """Visible cases, filtered, a page and the total: by deadline (soonest first), or with
    ``order="newest"`` the latest reported first (the dispatcher's queue of new cases)."""
    if order not in LIST_ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(LIST_ORDERS)}")
    where, params = access.visibility(principal)
    xmin, ymin, xmax, ymax = bbox or (None, None, None, None)
    filters = f"""{where}
        AND (CAST(:status AS text[]) IS NULL OR c.status = ANY(CAST(:status AS text[])))
        AND (CAST(:type AS text) IS NULL OR c.type_code = :type)
        AND (CAST(:agency AS text) IS NULL OR c.handler_party = :agency)
        AND (CAST(:town AS text) IS NULL OR c.town_code = :town)
        AND (CAST(:community AS text) IS NULL OR c.community_code = :community)
        AND (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since)
        AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until)
        AND (CAST(:xmin AS float8) IS NULL
             OR c.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326))
        AND (CAST(:overdue AS boolean) IS NULL OR (c.due_at IS NOT NULL AND c.due_at < now()
             AND c.status NOT IN ('resolved', 'closed', 'rejected')) = :overdue)"""
    params |= {
        "status": status,
        "type": type_code,
        "agency": agency,
        "town": town,
        "community": community,
        "since": since,
        "until": until,
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
        "overdue": overdue,
    }
    total = conn.execute(  # counted up to TOTAL_CAP: an exact count would scan everything
        text(f"SELECT count(*) FROM (SELECT 1 FROM case_file c WHERE {filters} LIMIT :cap) n"),
        params | {"cap": TOTAL_CAP + 1},
    ).scalar_one()
    rows = (
        conn.execute(
            text(f"""SELECT {CASE_FIELDS} FROM case_file c
                 JOIN violation_type vt ON vt.code = c.type_code WHERE {filters}
                 ORDER BY {LIST_ORDERS[order]} LIMIT :limit OFFSET :offset"""),
            params | {"limit": limit, "offset": offset},
        )
        .mappings()
        .all()
    )
    return {
        "total": min(total, TOTAL_CAP),
        "total_capped": total > TOTAL_CAP,
        "limit": limit,
        "offset": offset,
        "items": [_list_item(principal, r) for r in rows],
    }


def _list_item(principal: Principal, row: Any) -> dict[str, Any]:
    if access.limited_view(principal, row):
        return {k: row[k] for k in access.LIMITED_FIELDS}
    return disclosure.shown({k: v for k, v in row.items() if k != "routing"}, principal)


def events(conn: Connection, *, case_id: int, principal: Principal) -> list[dict[str, Any]]:
    """The case's history (staff view; a company sees only the public steps of a case it
    does not handle, without who took them); numbers in notes masked for those who may not
    see the reporters."""
    case = _load(conn, case_id=case_id, principal=principal)
    if access.limited_view(principal, case):
        rows = conn.execute(
            text("""SELECT id, at, action, from_status, to_status FROM case_event
                    WHERE case_id = :c AND public ORDER BY id"""),
            {"c": case_id},
        )
        return [dict(r) for r in rows.mappings()]
    rel = access.relations(principal, case, _tasks(conn, case_id))
    sees = disclosure.may_see_reporters(conn, principal=principal, case=case, relations=rel)
    rows = conn.execute(
        text("""SELECT id, at, actor_role, actor_label, action, from_status, to_status,
        note, data, public, public_reply FROM case_event WHERE case_id = :c ORDER BY id"""),
        {"c": case_id},
    )
    return [dict(r) if sees else disclosure.scrub(dict(r)) for r in rows.mappings()]


def transition(
    conn: Connection,
    *,
    case_id: int,
    principal: Principal,
    action: str,
    payload: dict[str, Any],
    if_match: int | None,
) -> dict[str, Any]:
    """Take one workflow action on a case (optimistic concurrency with ``If-Match``)."""
    if if_match is None:
        raise PreconditionRequired("changes need an If-Match header with the case's ETag")
    case = _load(conn, case_id=case_id, principal=principal, lock=True)
    if case["version"] != if_match:
        raise VersionMismatch(
            f"the case changed (now version {case['version']}); reload it", version=case["version"]
        )
    tasks = _tasks(conn, case_id)
    rel = access.relations(principal, case, tasks)
    _apply(
        conn,
        case=case,
        tasks=tasks,
        relations=rel,
        principal=principal,
        action=action,
        payload=payload,
    )
    try:
        return get_case(conn, case_id=case_id, principal=principal)
    except CaseNotFound:  # e.g. referred away: the actor no longer sees it
        row = conn.execute(
            text("""SELECT id, status, version, handler_party, handler_name
                                   FROM case_file WHERE id = :i"""),
            {"i": case_id},
        )
        return dict(row.mappings().one()) | {"visible": False, "allowed_actions": []}


def _apply(
    conn: Connection,
    *,
    case: dict[str, Any],
    tasks: list[dict[str, Any]],
    relations: set[str],
    principal: Principal | None,
    action: str,
    payload: dict[str, Any],
    role: str | None = None,
) -> None:
    allowed = allowed_actions(case["status"], relations)
    step = BY_ACTION.get(action)
    if step is None or case["status"] not in step.sources:
        raise InvalidTransition(
            f"cannot {action} a case that is {case['status']}; allowed: "
            f"{', '.join(allowed) or 'none'}",
            allowed=allowed,
            status=case["status"],
        )
    if not step.who & relations:
        raise TransitionForbidden(f"you may not {action} this case", allowed=allowed)
    for name in step.requires:
        if payload.get(name) in (None, "", []):
            raise MissingField(f"{action} needs `{name}`", field=name)
    reply = str(payload.get("public_reply") or "").strip()
    if reply and not step.public:
        raise InvalidReport(f"{action} is not shown to the public: it takes no public_reply")
    now = datetime.now(UTC)
    cols, data = effect_for(action)(Ctx(conn, case, principal, payload, now, tasks))
    if step.to is not None:
        cols.setdefault("status", step.to)
    bad = set(cols) - WRITABLE
    assert not bad, f"effect of {action} sets unknown columns {bad}"
    store.update_case(conn, case_id=case["id"], cols=cols, now=now)
    add_event(
        conn,
        case_id=case["id"],
        actor=principal,
        action=action,
        from_status=case["status"],
        to_status=cols.get("status", case["status"]),
        note=str(payload.get("note", "")),
        data=data,
        public=step.public,
        role=role,
        public_reply=reply,
    )
    enqueue_for_event(conn, case_id=case["id"], action=action, data=data, note=payload)


def _apply_unnamed(
    conn: Connection,
    *,
    case_id: int,
    relation: str,
    action: str,
    payload: dict[str, Any],
    role: str | None = None,
) -> None:
    """An action taken by no staff user (the scheduled job, the reporter): lock, then apply."""
    row = (
        conn.execute(
            text(f"""SELECT {CASE_FIELDS} FROM case_file c
        JOIN violation_type vt ON vt.code = c.type_code WHERE c.id = :id FOR UPDATE OF c"""),
            {"id": case_id},
        )
        .mappings()
        .one()
    )
    _apply(
        conn,
        case=dict(row),
        tasks=_tasks(conn, case_id),
        relations={relation},
        principal=None,
        action=action,
        payload=payload,
        role=role,
    )


def system_action(conn: Connection, *, case_id: int, action: str, payload: dict[str, Any]) -> None:
    """An action the scheduled job takes (relation ``system``), e.g. an automatic escalation."""
    _apply_unnamed(
        conn, case_id=case_id, relation="system", action=action, payload=payload, role="system"
    )


def resident_action(
    conn: Connection, *, tracking_code: str, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A resident's rating or dispute, authorised by the tracking code alone."""
    case_id = _case_for_code(conn, tracking_code)
    _apply_unnamed(conn, case_id=case_id, relation="reporter", action=action, payload=payload)
    return track(conn, tracking_code=tracking_code)


def track_photo(conn: Connection, *, tracking_code: str, photo_id: int) -> tuple[bytes, str]:
    """A photo of the case a tracking code follows (re-encoded on intake, without EXIF)."""
    row = conn.execute(
        text("SELECT content, mime FROM case_photo WHERE id = :p AND case_id = :c"),
        {"p": photo_id, "c": _case_for_code(conn, tracking_code)},
    ).first()
    if row is None:
        raise CaseNotFound("no such photo on the case of that tracking code")
    return bytes(row.content), str(row.mime)


def _case_for_code(conn: Connection, code: str) -> int:
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
    case_id = _case_for_code(conn, tracking_code)
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
            ARRAY(SELECT p.id FROM case_photo p WHERE p.case_id = c.id ORDER BY p.id) AS photo_ids
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
