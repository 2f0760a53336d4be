"""Who may prepare, record, read and follow up joint meetings.

A town's coordinator runs its own town's meetings and an admin any town's; a dispatcher may
read them (the agenda lists its cases). The owner of a meeting's action — an agency officer of
the owning agency or field unit, the coordinator of the owning town — reads that meeting and
marks its own actions done. Other roles have no business with meetings (403); a meeting of
another town answers 404, as cases do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from accounts.models import Role
from accounts.service import Principal
from meetings.exceptions import MeetingForbidden, MeetingNotFound

Check = Callable[[Principal, str], bool]

#: Roles that prepare and record meetings, and the towns they may.
MANAGES: dict[Role, Check] = {
    Role.admin: lambda p, town: True,
    Role.town_coordinator: lambda p, town: p.town_code == town,
}
#: Roles that may read meetings, and of which towns.
READS: dict[Role, Check] = MANAGES | {Role.dispatcher: lambda p, town: True}


def readable_towns(principal: Principal) -> str | None:
    """The one town a principal's meetings are limited to (None: every town)."""
    if principal.role not in READS:
        raise MeetingForbidden(f"a {principal.role.value} has no access to joint meetings")
    return principal.town_code if principal.role is Role.town_coordinator else None


def check_read(principal: Principal | None, town: str, meeting_id: int) -> None:
    """Raise unless ``principal`` may read this town's meeting (None: the CLI, trusted)."""
    if principal is None:
        return
    readable_towns(principal)
    if not READS[principal.role](principal, town):
        raise MeetingNotFound(f"no meeting {meeting_id}")


def check_manage(principal: Principal | None, town: str) -> None:
    """Raise unless ``principal`` may prepare or record this town's meetings."""
    if principal is None:
        return
    check = MANAGES.get(principal.role)
    if check is None:
        raise MeetingForbidden(
            f"a {principal.role.value} may read joint meetings but not prepare or record them"
            if principal.role in READS
            else f"a {principal.role.value} has no access to joint meetings"
        )
    if not check(principal, town):
        raise MeetingForbidden(f"you coordinate {principal.town_code}, not {town}")


def may_manage(principal: Principal | None, town: str) -> bool:
    """Whether ``principal`` may prepare and record this town's meetings."""
    if principal is None:
        return True
    check = MANAGES.get(principal.role)
    return bool(check and check(principal, town))


def owns(principal: Principal | None, action: Mapping[str, Any]) -> bool:
    """Whether ``principal``'s unit owns a meeting action (``owner_kind``, ``owner_code``,
    ``owner_agency``): an agency-wide officer its agency's actions and its field units', a
    field unit's officer its unit's, a town's coordinator its town's."""
    if principal is None:
        return False
    kind, code = action.get("owner_kind"), action.get("owner_code")
    if principal.role is Role.agency_officer and principal.agency:
        if principal.agency_unit:
            return (
                kind == "agency_unit"
                and action.get("owner_agency") == principal.agency
                and code == principal.agency_unit
            )
        return (kind == "agency" and code == principal.agency) or (
            kind == "agency_unit" and action.get("owner_agency") == principal.agency
        )
    if principal.role is Role.town_coordinator:
        return kind == "town" and code == principal.town_code
    return False


def owner_clause(principal: Principal, alias: str = "a") -> tuple[str, dict[str, Any]]:
    """SQL (over ``meeting_action`` as ``alias``) selecting the actions ``principal``'s unit
    owns, as :func:`owns` decides, with its bind parameters."""
    a = alias
    if principal.role is Role.agency_officer and principal.agency:
        params: dict[str, Any] = {"own_agency": principal.agency}
        if principal.agency_unit:
            params["own_unit"] = principal.agency_unit
            return (
                f"({a}.owner_kind = 'agency_unit' AND {a}.owner_agency = :own_agency"
                f" AND {a}.owner_code = :own_unit)",
                params,
            )
        return (
            f"(({a}.owner_kind = 'agency' AND {a}.owner_code = :own_agency)"
            f" OR ({a}.owner_kind = 'agency_unit' AND {a}.owner_agency = :own_agency))",
            params,
        )
    if principal.role is Role.town_coordinator and principal.town_code:
        return f"({a}.owner_kind = 'town' AND {a}.owner_code = :own_town)", {
            "own_town": principal.town_code
        }
    return "FALSE", {}
