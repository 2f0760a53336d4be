"""Who may prepare, record, read and follow up joint meetings.

A town's coordinator runs its own town's meetings and an admin any town's; a dispatcher may
read them (the agenda lists its cases). Other roles have no business with meetings (403); a
meeting of another town answers 404, as cases do.
"""

from __future__ import annotations

from collections.abc import Callable

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
