"""What a workflow effect reads (:class:`Ctx`) and the helpers effects share: the unit acting
for a party at the case's place, an agency by code, a new deadline from the payload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents.case_record import CaseChanges, CaseRecord, EventData
from incidents.exceptions import InvalidReport
from jurisdictions import catalog
from jurisdictions.active import ACTIVE_BOUNDARIES


@dataclass
class Ctx:
    """Everything an effect may read."""

    conn: Connection
    case: CaseRecord
    principal: Principal | None
    payload: dict[str, Any]
    now: datetime
    tasks: list[dict[str, Any]] = field(default_factory=list)


#: An action's effect: the columns it sets and the data kept on its event.
Effect = Callable[[Ctx], tuple[CaseChanges, EventData]]


def party_unit(ctx: Ctx, party: str) -> tuple[str | None, str]:
    """The unit that acts for ``party`` at this case's place."""
    case = ctx.case
    if party == "town_government":
        return case.town_code, case.routing["territory"]["town"]["name"]
    if party == "community_committee":
        comm = case.routing["territory"]["community"] or {}
        return case.community_code, comm.get("name", "")
    unit = (case.agency_units or {}).get(party)
    if unit:
        row = ctx.conn.execute(
            text(f"""SELECT b.name FROM {ACTIVE_BOUNDARIES} b
                    WHERE b.layer = 'agency_unit' AND b.agency = :a AND b.code = :c"""),
            {"a": party, "c": unit},
        ).first()
        return unit, row.name if row else unit
    if party == "property_company" and case.property_company:
        return case.property_area_code, case.property_company
    return None, ""


def agency_of(ctx: Ctx, code: Any) -> dict[str, Any]:
    agencies = catalog.agencies_by_code(ctx.conn)
    if not isinstance(code, str) or code not in agencies:
        raise InvalidReport(f"unknown agency {code!r}; see GET /api/v1/agencies")
    return vars(agencies[code])


def new_deadline(ctx: Ctx) -> datetime:
    raw = ctx.payload["due_at"]
    try:
        due = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidReport(
            f"due_at {str(raw)[:40]!r} is not a date and time, e.g. 2026-12-01T17:30:00+08:00",
            field="due_at",
        ) from None
    if due.tzinfo is None:
        raise InvalidReport("due_at needs a time zone, e.g. 2026-12-01T17:30:00+08:00")
    if due <= ctx.now:
        raise InvalidReport("the new deadline must be in the future")
    return due
