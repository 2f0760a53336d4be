"""Units' work lists: the tasks the linkage mechanism sends to a town, a community, an agency
or a property company. This module owns the writes to ``case_task``.

Kinds: ``joint`` (one agency's part of a joint-enforcement case; the case is done when every
joint part is), ``refusal_report`` (三（二）: a violator refused to correct — the town and the
competent enforcement department are told at once), ``joint_proposal`` (several enforcing
agencies: the town is asked to coordinate joint enforcement), ``escalation`` (a dispute the
community could not settle in time, now for the town's mediation, 二（九）3), ``return_visit``
(回访: call a phone reporter back after resolution — dispatchers only, see incidents.followup).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from incidents.exceptions import InvalidReport, TaskNotFound

#: The SQL condition on ``t`` (case_task) and ``c`` (case_file) selecting a unit's tasks.
UNIT_OF: dict[Role, str] = {
    Role.dispatcher: "TRUE",
    Role.agency_officer: (
        "t.party = :agency AND (CAST(:unit AS text) IS NULL OR t.unit_code = :unit)"
    ),
    Role.town_coordinator: "t.party = 'town_government' AND t.unit_code = :town",
    Role.community_worker: "t.party = 'community_committee' AND t.unit_code = :community",
    Role.property_company: "t.party = 'property_company' AND c.property_company = :company",
}

#: :func:`tasked_cases` lists at most this many cases.
TASKED_MAX = 500

WORK_LIST = """SELECT t.id, t.kind, t.party, t.unit_code, t.unit_name, t.done, t.done_at,
        t.note, t.created_at, t.due_at, c.id AS case_id, c.type_code, vt.name_zh AS type_name,
        c.status, c.town_code, c.community_code, c.property_area_code, c.lon, c.lat,
        c.handler_name, c.due_at AS case_due_at
    FROM case_task t JOIN case_file c ON c.id = t.case_id
    JOIN violation_type vt ON vt.code = c.type_code
    WHERE {cond}"""


def add_task(
    conn: Connection,
    *,
    case_id: int,
    party: str,
    unit_code: str | None,
    unit_name: str,
    kind: str = "joint",
    note: str = "",
    due_at: datetime | None = None,
) -> int:
    """Put a task in the work list of ``party``'s unit; its id."""
    return int(
        conn.execute(
            text("""INSERT INTO case_task (case_id, party, unit_code, unit_name, kind, note,
                        due_at) VALUES (:c, :p, :u, :n, :k, :note, :due) RETURNING id"""),
            {
                "c": case_id,
                "p": party,
                "u": unit_code,
                "n": unit_name,
                "k": kind,
                "note": note,
                "due": due_at,
            },
        ).scalar_one()
    )


def mark_done(conn: Connection, *, task_id: int, note: str, now: datetime) -> None:
    """Record a task as done (with what was done)."""
    conn.execute(
        text("""UPDATE case_task SET done = true, done_at = :t,
                    note = CASE WHEN :n = '' THEN note ELSE :n END WHERE id = :id"""),
        {"t": now, "n": note, "id": task_id},
    )


def case_tasks(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """The tasks of one case, oldest first."""
    rows = conn.execute(
        text("""SELECT id, kind, party, unit_code, unit_name, done, done_at, note, created_at,
                       due_at FROM case_task WHERE case_id = :c ORDER BY id"""),
        {"c": case_id},
    )
    return [dict(r) for r in rows.mappings()]


def tasked_cases(
    conn: Connection, *, principal: Principal, limit: int | None = None
) -> list[int] | None:
    """The cases in which an agency officer's agency (or unit) holds a task, done or not (the
    cases it sees besides those it handles); None for other roles, and when there are more
    than ``limit`` (default :data:`TASKED_MAX`; then a query tests each case for a task)."""
    if principal.role is not Role.agency_officer:
        return None
    limit = TASKED_MAX if limit is None else limit
    ids = conn.execute(
        text("""SELECT DISTINCT case_id FROM case_task WHERE party = :agency
                AND (CAST(:unit AS text) IS NULL OR unit_code = :unit) LIMIT :n"""),
        {"agency": principal.agency, "unit": principal.agency_unit, "n": limit + 1},
    ).scalars()
    found = [int(i) for i in ids]
    return found if len(found) <= limit else None


def _unit_condition(principal: Principal) -> tuple[str, dict[str, Any]]:
    cond = UNIT_OF.get(principal.role, "FALSE")
    if principal.role is not Role.dispatcher:  # 回访 calls are the dispatchers' own
        cond = f"({cond}) AND t.kind <> 'return_visit'"
    return cond, {
        "agency": principal.agency,
        "unit": principal.agency_unit,
        "town": principal.town_code,
        "community": principal.community_code,
        "company": principal.company,
    }


#: A unit's page of tasks, chosen among the tasks (``{cond}``; ``{case}`` joins the case when
#: the condition reads it) before their cases are read: a dispatcher's list of every open task
#: reads only the page's cases.
PAGE = """SELECT p.id, p.kind, p.party, p.unit_code, p.unit_name, p.done, p.done_at, p.note,
        p.created_at, p.due_at, c.id AS case_id, c.type_code, vt.name_zh AS type_name,
        c.status, c.town_code, c.community_code, c.property_area_code, c.lon, c.lat,
        c.handler_name, c.due_at AS case_due_at
    FROM (SELECT t.* FROM case_task t {case} WHERE {cond}
            AND (CAST(:all AS boolean) OR NOT t.done)
          ORDER BY t.done, t.created_at, t.id LIMIT :limit) p
    JOIN case_file c ON c.id = p.case_id JOIN violation_type vt ON vt.code = c.type_code
    ORDER BY p.done, p.created_at, p.id"""
#: A condition that reads the case (``c.``: a company's tasks are those of its estates).
READS_CASE = re.compile(r"\bc\.")


def work_list(
    conn: Connection, *, principal: Principal, include_done: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    """The tasks of the principal's unit, open ones first and oldest first; no personal data."""
    cond, params = _unit_condition(principal)
    case = "JOIN case_file c ON c.id = t.case_id" if READS_CASE.search(cond) else ""
    rows = conn.execute(
        text(PAGE.format(cond=cond, case=case)),
        params | {"all": include_done, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


def finish_task(
    conn: Connection, *, principal: Principal, task_id: int, note: str = ""
) -> dict[str, Any]:
    """A unit marks a task of its own list done (joint parts go through ``complete_task``)."""
    cond, params = _unit_condition(principal)
    row = (
        conn.execute(
            text(f"""SELECT t.id, t.kind, t.done FROM case_task t
                     JOIN case_file c ON c.id = t.case_id WHERE t.id = :id AND {cond}
                     FOR UPDATE OF t"""),
            params | {"id": task_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise TaskNotFound(f"no task {task_id} in your work list")
    if row["kind"] == "joint":
        raise InvalidReport(
            "a joint-enforcement part is completed with the case action complete_task"
        )
    if row["kind"] == "return_visit":
        raise InvalidReport("a return visit is recorded with its outcome (POST /tasks/{id}/visit)")
    if row["done"]:
        raise InvalidReport("the task is already done")
    mark_done(conn, task_id=task_id, note=note.strip(), now=datetime.now(UTC))
    done = conn.execute(text(WORK_LIST.format(cond="t.id = :id")), {"id": task_id})
    return dict(done.mappings().one())
