"""Reading and changing cases, always through the principal's visibility and relations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import access, disclosure, followup, privacy, store
from incidents import tasks as worklist
from incidents.case_record import WRITABLE, CaseRecord, read_case
from incidents.effect_context import Ctx
from incidents.effects import effect_for
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
from incidents.listing import list_cases as list_cases
from incidents.store import add_event
from incidents.tracking import case_for_code
from incidents.tracking import track as track
from incidents.tracking import track_photo as track_photo
from incidents.workflow import BY_ACTION, allowed_actions
from notify.service import enqueue_for_event


def _load(
    conn: Connection, *, case_id: int, principal: Principal, lock: bool = False
) -> CaseRecord:
    where, params = access.visibility(principal)
    return read_case(conn, case_id=case_id, where=where, params=params, lock=lock)


def _tasks(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return worklist.case_tasks(conn, case_id)


def get_case(conn: Connection, *, case_id: int, principal: Principal) -> dict[str, Any]:
    """A case as this principal may see it, with the actions it may take now."""
    record = _load(conn, case_id=case_id, principal=principal)
    if access.limited_view(principal, record):
        return access.limited_item(principal, record) | {"allowed_actions": []}
    case = record.as_dict()
    tasks = _tasks(conn, case_id)
    rel = access.relations(principal, case, tasks)
    case["tasks"] = tasks
    case["allowed_actions"] = allowed_actions(record.status, rel, record)
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
        text("""SELECT id, mime, width, height, sha256, taken_at, stage
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
    if case.version != if_match:
        raise VersionMismatch(
            f"the case changed (now version {case.version}); reload it", version=case.version
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
    case: CaseRecord,
    tasks: list[dict[str, Any]],
    relations: set[str],
    principal: Principal | None,
    action: str,
    payload: dict[str, Any],
    role: str | None = None,
) -> None:
    allowed = allowed_actions(case.status, relations)
    step = BY_ACTION.get(action)
    if step is None or case.status not in step.sources:
        raise InvalidTransition(
            f"cannot {action} a case that is {case.status}; allowed: "
            f"{', '.join(allowed) or 'none'}",
            allowed=allowed,
            status=case.status,
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
    store.update_case(conn, case_id=case.id, cols=cols, now=now)
    add_event(
        conn,
        case_id=case.id,
        actor=principal,
        action=action,
        from_status=case.status,
        to_status=cols.get("status", case.status),
        note=str(payload.get("note", "")),
        data=data,
        public=step.public,
        role=role,
        public_reply=reply,
    )
    enqueue_for_event(conn, case_id=case.id, action=action, data=data, note=payload)
    followup.after_action(conn, case_id=case.id, action=action)  # 回访 of phone reports


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
    _apply(
        conn,
        case=read_case(conn, case_id=case_id, lock=True),
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


def followup_action(
    conn: Connection, *, case_id: int, principal: Principal | None, payload: dict[str, Any]
) -> None:
    """The resident says the problem is not solved (survey, or a dispatcher's 回访 call):
    reopen the case with the reason (relation ``followup``, granted by incidents.followup)."""
    _apply(
        conn,
        case=read_case(conn, case_id=case_id, lock=True),
        tasks=_tasks(conn, case_id),
        relations={"followup"},
        principal=principal,
        action="followup_reopen",
        payload=payload,
    )


def resident_action(
    conn: Connection, *, tracking_code: str, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A resident's rating or dispute, authorised by the tracking code alone."""
    case_id = case_for_code(conn, tracking_code)
    _apply_unnamed(conn, case_id=case_id, relation="reporter", action=action, payload=payload)
    return track(conn, tracking_code=tracking_code)
