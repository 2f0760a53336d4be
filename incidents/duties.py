"""Effects of the linkage mechanism's own duties: a refusal to correct reported to the town
and the competent department (三（二）), the town's correction order (二（九）4), and the
escalation of a dispute from the community committee to the town's mediation (二（十）2 →
二（九）3)."""

from __future__ import annotations

from typing import Any

from incidents import tasks as worklist
from incidents.case_record import CaseChanges, EventData
from incidents.deadlines import load_policy
from incidents.effect_context import Ctx
from incidents.effect_context import agency_of as _agency
from incidents.effect_context import new_deadline as _due
from incidents.effect_context import party_unit as _party_unit
from incidents.exceptions import InvalidReport
from jurisdictions import catalog


def _enforcing(ctx: Ctx, party: str | None) -> bool:
    agency = catalog.agencies_by_code(ctx.conn).get(party or "")
    return bool(agency and agency.party and not agency.territorial)


def competent_department(ctx: Ctx) -> str | None:
    """The enforcement department competent for this case: its handler when that is one, else
    the agency of its type (谁主管、谁负责); None when neither enforces (a service matter)."""
    if _enforcing(ctx, ctx.case.handler_party):
        return str(ctx.case.handler_party)
    vtype = catalog.get_type(ctx.conn, code=ctx.case.type_code)
    return str(vtype.agency) if _enforcing(ctx, vtype.agency) else None


def report_refusal(ctx: Ctx, *, note: str) -> list[dict[str, Any]]:
    """三（二）: put the refusal in the work lists of the town and the competent department."""
    parties = ["town_government", competent_department(ctx)]
    open_reports = {
        t["party"] for t in ctx.tasks if t.get("kind") == "refusal_report" and not t["done"]
    }
    notify = []
    for party in dict.fromkeys(p for p in parties if p):
        unit_code, unit_name = _party_unit(ctx, party)
        name = f"{_agency(ctx, party)['name_zh']} {unit_name}".strip()
        if party not in open_reports:
            task_id = worklist.add_task(
                ctx.conn,
                case_id=ctx.case.id,
                party=party,
                unit_code=unit_code,
                unit_name=unit_name,
                kind="refusal_report",
                note=note,
            )
            notify.append({"party": party, "unit": name, "task": task_id})
    return notify


def refused_to_correct(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {}, {"notify": report_refusal(ctx, note=ctx.payload["note"])}


def order_correction(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    """二（九）4: the town orders the violation corrected (责令整改) by a deadline."""
    due = _due(ctx)
    order = {
        "by": ctx.principal.label if ctx.principal else "",
        "at": ctx.now.isoformat(),
        "due_at": due.isoformat(),
        "note": ctx.payload["note"],
    }
    routing = dict(ctx.case.routing)
    routing["correction_orders"] = [*routing.get("correction_orders", []), order]
    return {"routing": routing}, {"correction_due_at": due.isoformat()}


def escalate(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    """The handler could not settle it in time: the case goes to the routing's escalation
    party (the town's mediation after the community committee, 二（九）3 / 二（十）2)."""
    target = (ctx.case.routing or {}).get("escalation")
    if not target:
        raise InvalidReport("this case has no escalation step")
    party = target["party"]
    if party == ctx.case.handler_party:
        raise InvalidReport("the case has already been escalated")
    agency = _agency(ctx, party)
    unit_code, unit_name = _party_unit(ctx, party)
    name = f"{agency['name_zh']} {unit_name}".strip()
    vtype = catalog.get_type(ctx.conn, code=ctx.case.type_code)
    policy = load_policy()
    due = policy.deadlines_for(vtype.code, vtype.scope, ctx.case.urgency, start=ctx.now).resolve_by
    automatic = ctx.principal is None
    routing = dict(ctx.case.routing)
    routing["escalations"] = [
        *routing.get("escalations", []),
        {"from": ctx.case.handler_name, "to": name, "at": ctx.now.isoformat()},
    ]
    worklist.add_task(
        ctx.conn,
        case_id=ctx.case.id,
        party=party,
        unit_code=unit_code,
        unit_name=unit_name,
        kind="escalation",
        note=ctx.payload["note"],
        due_at=due,
    )
    return (
        {
            "handler_party": party,
            "handler_unit_code": unit_code,
            "handler_name": name,
            "routing": routing,
            "due_at": due,
        },
        {
            "from": ctx.case.handler_name,
            "to": name,
            "automatic": automatic,
            "due_at": due.isoformat(),
        },
    )
