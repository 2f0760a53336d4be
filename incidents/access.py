"""Who sees and changes which case: visibility as SQL per role, relations to one case.

Every officer sees only what its role and scope allow; a case it may not see answers 404, so
the existence of foreign cases is not revealed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from accounts.models import Role
from accounts.service import Principal

#: An agency officer's cases: those its agency (or unit) handles ...
AGENCY_HANDLES = """(c.handler_party = :v_agency
             AND (CAST(:v_unit AS text) IS NULL OR c.handler_unit_code = :v_unit))"""
#: ... and those in which it holds a task (a joint-enforcement part, done or not).
AGENCY_TASKED = """EXISTS (SELECT 1 FROM case_task t WHERE t.case_id = c.id
                       AND t.party = :v_agency
                       AND (CAST(:v_unit AS text) IS NULL OR t.unit_code = :v_unit))"""

#: A SQL condition on ``c`` (case_file) and its parameters, per role.
VISIBILITY: dict[Role, Callable[[Principal], tuple[str, dict[str, Any]]]] = {
    Role.dispatcher: lambda p: ("TRUE", {}),
    Role.agency_officer: lambda p: (
        f"({AGENCY_HANDLES}\n            OR {AGENCY_TASKED})",
        {"v_agency": p.agency, "v_unit": p.agency_unit},
    ),
    Role.town_coordinator: lambda p: ("c.town_code = :v_town", {"v_town": p.town_code}),
    Role.community_worker: lambda p: (
        "c.community_code = :v_community",
        {"v_community": p.community_code},
    ),
    Role.property_company: lambda p: (
        "(c.property_company = :v_company AND c.scope IN ('property_service', 'enforcement'))",
        {"v_company": p.company},
    ),
    Role.planner: lambda p: ("FALSE", {}),
    # every case, as an overview (OVERVIEW_ROLES): the administrator answers for the system
    Role.admin: lambda p: ("TRUE", {}),
}

#: Roles that read every case as an overview only: the limited fields (place rounded to
#: COORDINATE_DIGITS, type, status, areas, handler, dates), the public steps of the history,
#: no description, photos, reporters, messages or exports, and no actions.
OVERVIEW_ROLES = frozenset({Role.admin})


def visibility(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The SQL condition selecting the cases ``principal`` may see (an overview role sees
    them only through :func:`limited_item`)."""
    return VISIBILITY[principal.role](principal)


def visibility_parts(
    principal: Principal, *, tasked: Sequence[int] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """:func:`visibility` as disjoint SQL conditions whose union is it, so that a query can
    read each part with its own index (PostgreSQL cannot for an ``OR`` with an ``EXISTS``).
    Given ``tasked``, every case in which an agency officer's agency (or unit) holds a task
    (:func:`incidents.tasks.tasked_cases`), its cases are those it handles, then those ids it
    does not handle; otherwise one part."""
    where, params = visibility(principal)
    if principal.role is not Role.agency_officer or tasked is None:
        return [where], params
    other = f"c.id = ANY(CAST(:v_tasked AS bigint[])) AND {AGENCY_HANDLES} IS NOT TRUE"
    return [AGENCY_HANDLES, other], params | {"v_tasked": list(tasked)}


def content_visibility(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The cases whose contents (exports, messages) ``principal`` may read: none for an
    overview role."""
    return ("FALSE", {}) if principal.role in OVERVIEW_ROLES else visibility(principal)


def _handles(p: Principal, case: Mapping[str, Any]) -> bool:
    party, unit = case["handler_party"], case["handler_unit_code"]
    checks: dict[Role, Callable[[], bool]] = {
        Role.agency_officer: lambda: (
            party == p.agency and (p.agency_unit is None or unit == p.agency_unit)
        ),
        Role.town_coordinator: lambda: (
            party == "town_government" and case["town_code"] == p.town_code
        ),
        Role.community_worker: lambda: (
            party == "community_committee" and case["community_code"] == p.community_code
        ),
        Role.property_company: lambda: (
            party == "property_company" and case["property_company"] == p.company
        ),
    }
    check = checks.get(p.role)
    return bool(check and check())


def relations(
    p: Principal, case: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]]
) -> set[str]:
    """What ``p`` is to this case: dispatcher, handler, task_party, town, community."""
    rel: set[str] = set()
    if p.role is Role.dispatcher:
        rel.add("dispatcher")
    if _handles(p, case):
        rel.add("handler")
    if p.role is Role.agency_officer and any(
        t["party"] == p.agency
        and not t["done"]
        and (p.agency_unit is None or t["unit_code"] == p.agency_unit)
        for t in tasks
    ):
        rel.add("task_party")
    if p.role is Role.town_coordinator and case["town_code"] == p.town_code:
        rel.add("town")
    if p.role is Role.community_worker and case["community_code"] == p.community_code:
        rel.add("community")
    return rel


#: Roles that may see reporters' names and phone numbers of the cases they see.
SEES_PERSONAL_DATA = frozenset({Role.dispatcher})

#: Decimal places of coordinates on maps per role (3 ≈ 100 m: no exact homes); default 7.
COORDINATE_DIGITS: dict[Role, int] = {Role.planner: 3, Role.admin: 3}


#: What a property company sees of an enforcement case in its own estate (三（二）: it must know
#: of violations there, to dissuade and report): place, type and status — nobody's identity,
#: no description (it may name people), no history details, no photos.
LIMITED_FIELDS = (
    "id",
    "type_code",
    "type_name",
    "scope",
    "status",
    "lon",
    "lat",
    "town_code",
    "community_code",
    "property_area_code",
    "handler_name",
    "created_at",
    "due_at",
    "closed_at",
    "overdue",
    "version",
)


def limited_view(p: Principal, case: Mapping[str, Any]) -> bool:
    """Does ``p`` see only :data:`LIMITED_FIELDS` of this case (a company, not its matter;
    an overview role, every case)?"""
    if p.role in OVERVIEW_ROLES:
        return True
    return p.role is Role.property_company and case["scope"] != "property_service"


def limited_item(p: Principal, case: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`LIMITED_FIELDS` of a case, its place rounded as ``p``'s role may see it."""
    item = {k: case[k] for k in LIMITED_FIELDS}
    digits = COORDINATE_DIGITS.get(p.role)
    if digits is not None:
        for k in ("lon", "lat"):
            if item[k] is not None:
                item[k] = round(float(item[k]), digits)
    return item


#: SQL: the case ``c`` waits for this principal's own unit — it handles it, or holds an open
#: joint-enforcement task of it (as :func:`relations` gives ``handler``/``task_party``).
MINE: dict[Role, Callable[[Principal], tuple[str, dict[str, Any]]]] = {
    Role.agency_officer: lambda p: (
        """((c.handler_party = :m_agency
             AND (CAST(:m_unit AS text) IS NULL OR c.handler_unit_code = :m_unit))
            OR EXISTS (SELECT 1 FROM case_task t WHERE t.case_id = c.id AND NOT t.done
                       AND t.party = :m_agency
                       AND (CAST(:m_unit AS text) IS NULL OR t.unit_code = :m_unit)))""",
        {"m_agency": p.agency, "m_unit": p.agency_unit},
    ),
    Role.town_coordinator: lambda p: (
        "(c.town_code = :m_town AND (c.handler_party = 'town_government' OR c.status = 'joint'))",
        {"m_town": p.town_code},
    ),
    Role.community_worker: lambda p: (
        "(c.handler_party = 'community_committee' AND c.community_code = :m_community)",
        {"m_community": p.community_code},
    ),
    Role.property_company: lambda p: (
        "(c.handler_party = 'property_company' AND c.property_company = :m_company)",
        {"m_company": p.company},
    ),
}


def mine(principal: Principal) -> tuple[str, dict[str, Any]]:
    """The SQL condition: ``c`` is this principal's unit's to handle (FALSE for roles that
    handle nothing themselves)."""
    check = MINE.get(principal.role)
    return check(principal) if check else ("FALSE", {})


#: Roles that verify resolved cases (the ``verify`` action's ``dispatcher``/``community``).
VERIFIERS = frozenset({Role.dispatcher, Role.community_worker})
#: Roles that watch every new report they can see (not only those routed to their unit).
WATCH_NEW = frozenset({Role.dispatcher, Role.town_coordinator, Role.community_worker})
