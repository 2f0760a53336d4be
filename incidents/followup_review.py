"""The reviewed exclusion of an unreasonable rating (二：不合理诉求不计入满意度): a dispatcher
proposes leaving a case's survey answers and return visits out of 实际解决率 and 满意率, with the
reason; a town coordinator of the case's town, or an admin, other than the proposer, approves
or rejects it. Only an approved exclusion counts. The table's audit trigger records every
change (who, when, old and new row).

This module owns the writes to ``followup_exclusion``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from incidents.exceptions import (
    CaseNotFound,
    ExclusionNotFound,
    FollowupNotOpen,
    InvalidReport,
    TransitionForbidden,
)

STATES = ("pending", "approved", "rejected")
REVIEWERS = (Role.town_coordinator, Role.admin)
FIELDS = """x.id, x.case_id, x.reason, x.state, x.proposed_at, x.reviewed_at, x.review_note,
    pu.username AS proposed_by, ru.username AS reviewed_by, c.town_code"""
SELECT = f"""SELECT {FIELDS} FROM followup_exclusion x JOIN case_file c ON c.id = x.case_id
    JOIN app_user pu ON pu.id = x.proposed_by LEFT JOIN app_user ru ON ru.id = x.reviewed_by"""


def propose(conn: Connection, *, principal: Principal, case_id: int, reason: str) -> dict[str, Any]:
    """A dispatcher proposes the exclusion of a case that has a survey answer or a visit; a
    rejected proposal may be proposed again (it goes back to pending)."""
    if principal.role is not Role.dispatcher:
        raise TransitionForbidden("exclusions are proposed by dispatchers")
    if not reason.strip():
        raise InvalidReport("say why the rating should not count")
    if conn.execute(text("SELECT 1 FROM case_file WHERE id = :c"), {"c": case_id}).first() is None:
        raise CaseNotFound(f"no case {case_id}")
    answered = conn.execute(
        text("SELECT 1 FROM case_followup WHERE case_id = :c AND reached LIMIT 1"), {"c": case_id}
    ).first()
    if answered is None:
        raise FollowupNotOpen("the case has no survey answer or return visit to exclude")
    row = conn.execute(
        text("""INSERT INTO followup_exclusion (case_id, reason, proposed_by)
                VALUES (:c, :r, :u)
                ON CONFLICT (case_id) DO UPDATE SET reason = EXCLUDED.reason,
                    proposed_by = EXCLUDED.proposed_by, proposed_at = now(), state = 'pending',
                    reviewed_by = NULL, reviewed_at = NULL, review_note = ''
                WHERE followup_exclusion.state = 'rejected'
                RETURNING id"""),
        {"c": case_id, "r": reason.strip(), "u": principal.user_id},
    ).first()
    if row is None:
        raise FollowupNotOpen("an exclusion of this case is already pending or approved")
    return _one(conn, int(row.id))


def _one(conn: Connection, exclusion_id: int) -> dict[str, Any]:
    row = conn.execute(text(SELECT + " WHERE x.id = :i"), {"i": exclusion_id}).mappings().first()
    if row is None:
        raise ExclusionNotFound(f"no exclusion {exclusion_id}")
    return dict(row)


def _may_review(principal: Principal) -> tuple[str, dict[str, Any]]:
    if principal.role not in REVIEWERS:
        raise TransitionForbidden("exclusions are reviewed by a town coordinator or an admin")
    if principal.role is Role.town_coordinator:
        return "c.town_code = :town", {"town": principal.town_code}
    return "TRUE", {}


def review(
    conn: Connection, *, principal: Principal, exclusion_id: int, approve: bool, note: str = ""
) -> dict[str, Any]:
    """Approve or reject a pending exclusion (a coordinator: of its own town's cases)."""
    where, params = _may_review(principal)
    row = conn.execute(
        text(f"""SELECT x.id, x.state, x.proposed_by FROM followup_exclusion x
                 JOIN case_file c ON c.id = x.case_id WHERE x.id = :i AND {where}
                 FOR UPDATE OF x"""),
        params | {"i": exclusion_id},
    ).first()
    if row is None:
        raise ExclusionNotFound(f"no exclusion {exclusion_id} for you to review")
    if row.state != "pending":
        raise FollowupNotOpen(f"the exclusion is already {row.state}")
    if row.proposed_by == principal.user_id:
        raise TransitionForbidden("the proposer may not review their own proposal")
    if not approve and not note.strip():
        raise InvalidReport("say why the exclusion is rejected")
    conn.execute(
        text("""UPDATE followup_exclusion SET state = :s, reviewed_by = :u, reviewed_at = :t,
                    review_note = :n WHERE id = :i"""),
        {
            "s": "approved" if approve else "rejected",
            "u": principal.user_id,
            "t": datetime.now(UTC),
            "n": note.strip(),
            "i": exclusion_id,
        },
    )
    return _one(conn, exclusion_id)


def listing(
    conn: Connection, *, principal: Principal, state: str = "pending"
) -> list[dict[str, Any]]:
    """The exclusions in ``state`` the caller may see: a dispatcher all, a reviewer its own."""
    if state not in STATES:
        raise InvalidReport(f"state is one of {', '.join(STATES)}")
    params: dict[str, Any] = {}
    where = "TRUE"
    if principal.role is not Role.dispatcher:
        where, params = _may_review(principal)
    rows = conn.execute(
        text(SELECT + f" WHERE x.state = :s AND {where} ORDER BY x.proposed_at, x.id"),
        params | {"s": state},
    )
    return [dict(r) for r in rows.mappings()]


def exclusion_of(conn: Connection, *, case_id: int) -> dict[str, Any] | None:
    """A case's exclusion, whatever its state (None: never proposed)."""
    row = conn.execute(text(SELECT + " WHERE x.case_id = :c"), {"c": case_id}).mappings().first()
    return dict(row) if row else None
