"""Who may see a case's reporters: the dispatcher always; the handler only when told to.

The party handling a case may be the party complained about (a property company handling a
complaint about its own service, 三(二) of the text: it is in the loop to put things right, not
to know who called). So a handler sees the reporters' names and phones only after the
dispatcher has decided so for this case and this handler — an event ``reveal_reporter`` (or
``withhold_reporter`` to take it back), recorded in the case's history with the dispatcher's
reason. A disclosure names the handler it was made to: when the case moves to another handler
(a referral, a re-dispatch), the new one sees nothing until the dispatcher decides again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from incidents import access
from incidents.exceptions import CaseNotFound, MissingField, TransitionForbidden
from incidents.public_text import mask
from incidents.store import add_event

ACTIONS = ("reveal_reporter", "withhold_reporter")

LATEST = text("""SELECT action, data FROM case_event
                 WHERE case_id = :c AND action = ANY(CAST(:a AS text[]))
                 ORDER BY id DESC LIMIT 1""")


def _handler_of(case: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "handler_party": case["handler_party"],
        "handler_unit_code": case["handler_unit_code"],
        "handler_name": case["handler_name"],
    }


def revealed_to_handler(conn: Connection, *, case: Mapping[str, Any]) -> bool:
    """Whether the dispatcher's latest decision reveals the reporters to the current handler."""
    row = conn.execute(LATEST, {"c": case["id"], "a": list(ACTIONS)}).first()
    if row is None or row.action != "reveal_reporter":
        return False
    told = row.data or {}
    current = _handler_of(case)
    return all(told.get(k) == current[k] for k in ("handler_party", "handler_unit_code"))


def may_see_reporters(
    conn: Connection, *, principal: Principal, case: Mapping[str, Any], relations: set[str]
) -> bool:
    """Dispatchers see reporters; a handler only when revealed to it; nobody else."""
    if principal.role in access.SEES_PERSONAL_DATA:
        return True
    return "handler" in relations and revealed_to_handler(conn, case=case)


#: Free-text fields of a case or an event where a resident's number may be written.
TEXT_FIELDS = ("description", "address_text", "outcome_note", "rejection_reason", "note")


def scrub(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with phone and ID numbers masked in its free text (for viewers who may not
    see the reporters: the description may say "请回电138…", a note "已联系举报人138…")."""
    for name in TEXT_FIELDS:
        if isinstance(item.get(name), str):
            item[name] = mask(item[name])
    return item


def shown(item: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A list's item as ``principal`` may read it: numbers masked unless it is the dispatcher."""
    return item if principal.role in access.SEES_PERSONAL_DATA else scrub(item)


def set_disclosure(
    conn: Connection, *, case_id: int, principal: Principal, reveal: bool, note: str
) -> dict[str, Any]:
    """The dispatcher reveals the reporters to the case's current handler, or withholds them."""
    if principal.role is not Role.dispatcher:
        raise TransitionForbidden("only the dispatcher decides who sees the reporters")
    if not note.strip():
        raise MissingField("say why (note)", field="note")
    row = (
        conn.execute(
            text("""SELECT id, status, handler_party, handler_unit_code, handler_name
                    FROM case_file WHERE id = :i FOR UPDATE"""),
            {"i": case_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    case = dict(row)
    action = ACTIONS[0] if reveal else ACTIONS[1]
    add_event(
        conn,
        case_id=case_id,
        actor=principal,
        action=action,
        from_status=case["status"],
        to_status=case["status"],
        note=note.strip(),
        data=_handler_of(case),
        public=False,
    )
    return {"case_id": case_id, "revealed": reveal} | _handler_of(case)


def state(
    conn: Connection, *, case: Mapping[str, Any], principal: Principal
) -> dict[str, Any] | None:
    """For the dispatcher's case page: whether the current handler sees the reporters (None for
    anyone else, or while the case has no handler)."""
    if principal.role is not Role.dispatcher or not case.get("handler_party"):
        return None
    return {
        "revealed": revealed_to_handler(conn, case=case),
        "handler": case.get("handler_name") or case["handler_party"],
    }
