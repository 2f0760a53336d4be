"""Who may run hot-spot analyses, and what of them: the route dependency and the scope rule
shared by the analysis routes, the planner's page and the "propose this cell for the agenda"
route (``meetings.hotspot_router``)."""

from __future__ import annotations

from accounts.exceptions import Forbidden
from accounts.models import Role
from accounts.router import CurrentPrincipal
from accounts.service import Principal
from hotspots.schemas import HotspotQuery

#: Who may run analyses: they see aggregates only, never cases or people. A town coordinator
#: analyses its own town only.
ANALYST_ROLES = frozenset({Role.planner, Role.admin, Role.dispatcher, Role.town_coordinator})


def analyst(principal: CurrentPrincipal) -> Principal:
    """The current user, when its role may run hot-spot analyses; 403 otherwise."""
    if principal.role not in ANALYST_ROLES:
        raise Forbidden(
            "hot-spot analysis is for planners, administrators, dispatchers and town coordinators"
        )
    return principal


def scoped(principal: Principal, query: HotspotQuery) -> HotspotQuery:
    """The query limited to what ``principal`` may analyse (a coordinator: its own town)."""
    if principal.role is not Role.town_coordinator:
        return query
    if query.town not in (None, principal.town_code):
        raise Forbidden("a town coordinator analyses its own town only")
    return query.model_copy(update={"town": principal.town_code})
