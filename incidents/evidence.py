"""Handling evidence (处置前后): the handling unit's photos from before and after it dealt with
a matter, and the rule that a case of a type marked ``evidence`` (its remedy can be seen on
site) is resolved only with a photo from before — the report's or the handler's — and one from
after. Who may add them: the case's handler, a task party of a joint case, the dispatcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from accounts.service import Principal
from incidents import access, case_photos, service
from incidents.exceptions import InvalidTransition, MissingField, TransitionForbidden
from incidents.photos import SanitizedPhoto
from incidents.store import add_event, add_photos

#: The stages a handler adds (a report's photos are stage ``report``).
HANDLER_STAGES = ("before", "after")

#: Who may add evidence, as relations to the case (incidents.access.relations).
WHO = frozenset({"handler", "task_party", "dispatcher"})

#: States in which the matter is still being handled (evidence is added before resolving).
OPEN = frozenset(
    {"accepted", "dispatched", "in_progress", "referred", "joint", "reopened", "postponed"}
)


def may_add(principal: Principal, case: Mapping[str, Any]) -> bool:
    """Whether ``principal`` may add before/after photos to this case now."""
    if "handler_party" not in case:  # a limited view (a company's look at enforcement)
        return False
    rel = access.relations(principal, case, case.get("tasks") or ())
    return bool(rel & WHO) and case["status"] in OPEN


def add(
    conn: Connection,
    *,
    case_id: int,
    principal: Principal,
    stage: str,
    photos: Sequence[SanitizedPhoto],
    note: str = "",
) -> dict[str, Any]:
    """Add the handler's ``before`` or ``after`` photos to a case, with a short note; recorded
    in the case's history (the after-photos are shown to the resident who tracks the case)."""
    if stage not in HANDLER_STAGES:
        raise MissingField("stage must be before or after", field="stage")
    if not photos:
        raise MissingField("at least one photo is needed", field="photos")
    case = service.get_case(conn, case_id=case_id, principal=principal)
    rel = access.relations(principal, case, case.get("tasks") or ())
    if not rel & WHO:
        raise TransitionForbidden("only the handling unit or the dispatcher adds evidence")
    if case["status"] not in OPEN:
        raise InvalidTransition(
            f"evidence is added while a case is handled, not when it is {case['status']}",
            allowed=list(case.get("allowed_actions") or []),
            status=case["status"],
        )
    ids = add_photos(conn, case_id=case_id, photos=photos, stage=stage, added_by=principal.user_id)
    add_event(
        conn,
        case_id=case_id,
        actor=principal,
        action="evidence",
        from_status=case["status"],
        to_status=case["status"],
        note=note.strip(),
        data={"stage": stage, "photos": ids},
        public=stage == "after",
    )
    return {
        "case_id": case_id,
        "stage": stage,
        "photo_ids": ids,
        "missing": case_photos.missing(conn, case=case),
    }


def state(conn: Connection, *, case: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    """For the case page: whether before/after photos are needed, which are missing, and
    whether ``principal`` may add them now."""
    return {
        "needed": case_photos.needed(conn, type_code=str(case["type_code"])),
        "missing": case_photos.missing(conn, case=case),
        "may_add": may_add(principal, case),
    }
