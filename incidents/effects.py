"""What each workflow action changes beyond the status: one small function per action.

Each takes the context and returns the case columns to set and the data kept on the event.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import text

from gis.coords import CoordSystem
from incidents import case_photos, report_in
from incidents import tasks as worklist
from incidents.case_record import CaseChanges, EventData
from incidents.duties import escalate, order_correction, refused_to_correct
from incidents.effect_context import Ctx, Effect
from incidents.effect_context import agency_of as _agency
from incidents.effect_context import new_deadline as _due
from incidents.effect_context import party_unit as _party_unit
from incidents.exceptions import InvalidReport, MissingField
from incidents.placement import StorePoint, place, store_point
from jurisdictions import catalog

OUTCOMES = ("fixed", "not_fixed", "not_our_matter")
#: Decisions kept on a case's routing when a dispatcher re-routes it.
RECORDS = ("referrals", "escalations", "correction_orders")


def _none(_ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {}, {}


def _reroute(ctx: Ctx, *, point: StorePoint, type_code: str) -> CaseChanges:
    vtype = catalog.get_type(ctx.conn, code=type_code)
    agencies = catalog.agencies_by_code(ctx.conn)
    # the placement's columns: lon, lat and placement.TERRITORIAL, all of them CaseChanges
    cols = cast(
        CaseChanges, dict(place(ctx.conn, point=point, vtype=vtype, agencies=agencies).columns)
    )
    cols |= {"type_code": vtype.code, "scope": vtype.scope, "input_crs": point.crs.value}
    for key in RECORDS:  # what people decided stays on record
        if ctx.case.routing.get(key):
            cols["routing"][key] = ctx.case.routing[key]
    return cols


def accept(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {"accepted_at": ctx.now}, {}


def reject(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {"rejection_reason": ctx.payload["note"], "closed_at": ctx.now}, {}


def dispatch(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    party = ctx.payload.get("to_party")
    if not party:
        return {}, {"handler": ctx.case.handler_name}
    agency = _agency(ctx, party)
    unit_code, unit_name = _party_unit(ctx, party)
    name = f"{agency['name_zh']} {unit_name}".strip()
    return (
        {"handler_party": party, "handler_unit_code": unit_code, "handler_name": name},
        {"handler": name, "overrode": ctx.case.handler_name},
    )


def refer(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    party = ctx.payload["to_party"]
    if party == ctx.case.handler_party:
        raise InvalidReport("a referral names another responsible party than the current one")
    agency = _agency(ctx, party)
    unit_code, unit_name = _party_unit(ctx, party)
    name = f"{agency['name_zh']} {unit_name}".strip()
    routing = dict(ctx.case.routing)
    routing["referrals"] = [
        *routing.get("referrals", []),
        {
            "from": ctx.case.handler_name,
            "to": name,
            "reason": ctx.payload["note"],
            "at": ctx.now.isoformat(),
        },
    ]
    return (
        {
            "handler_party": party,
            "handler_unit_code": unit_code,
            "handler_name": name,
            "routing": routing,
        },
        {"from": ctx.case.handler_name, "to": name, "to_party": party},
    )


def joint(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    parties = ctx.payload["parties"]
    if not isinstance(parties, list) or len(set(parties)) < 2:
        raise InvalidReport("joint enforcement needs at least two parties")
    created = []
    for party in dict.fromkeys(parties):
        _agency(ctx, party)
        unit_code, unit_name = _party_unit(ctx, party)
        task_id = worklist.add_task(
            ctx.conn, case_id=ctx.case.id, party=party, unit_code=unit_code, unit_name=unit_name
        )  # 吹哨报到: each called unit's report-in and completion clock starts now
        report_in.open_clock(
            ctx.conn, task_id=task_id, urgency=ctx.case.urgency or "ordinary", now=ctx.now
        )
        created.append({"party": party, "unit": unit_name})
    return {}, {"tasks": created, "coordinator": ctx.case.routing["territory"]["town"]}


def complete_task(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    joint_parts = [t for t in ctx.tasks if t.get("kind", "joint") == "joint"]
    task = next((t for t in joint_parts if t["id"] == ctx.payload["task_id"]), None)
    if task is None or task["done"]:
        raise InvalidReport("no open joint-enforcement task with that id on this case")
    p = ctx.principal
    if p is not None and p.role.value == "agency_officer" and task["party"] != p.agency:
        raise InvalidReport("this task belongs to another agency")
    worklist.mark_done(ctx.conn, task_id=task["id"], note=ctx.payload.get("note", ""), now=ctx.now)
    remaining = [t for t in joint_parts if not t["done"] and t["id"] != task["id"]]
    cols: CaseChanges = {}
    if not remaining:  # the case is done when every agency's part is
        cols = {"status": "resolved", "resolved_at": ctx.now}
    return cols, {"task": task["party"], "remaining": [t["party"] for t in remaining]}


def resolve(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    case_photos.require_for_resolve(ctx.conn, case=ctx.case)  # 处置前后 photos, where needed
    return {"resolved_at": ctx.now}, {}


def verify(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    outcome = ctx.payload["outcome"]
    if outcome not in OUTCOMES:
        raise InvalidReport(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "not_fixed" and not ctx.payload.get("note"):
        raise MissingField("closing as not fixed needs a note saying why", field="note")
    return (
        {"outcome": outcome, "outcome_note": ctx.payload.get("note", ""), "closed_at": ctx.now},
        {"outcome": outcome},
    )


def reopen(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {"closed_at": None, "outcome": None, "resolved_at": None}, {}


def request_postpone(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    return {}, {"requested_due_at": _due(ctx).isoformat()}


def postpone(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    due = _due(ctx)
    return {"due_at": due}, {"old_due_at": str(ctx.case.due_at), "due_at": due.isoformat()}


def correct_location(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    point = store_point(ctx.payload["lon"], ctx.payload["lat"], ctx.payload.get("crs", "wgs84"))
    cols = _reroute(ctx, point=point, type_code=ctx.case.type_code)
    return cols, {
        "old": [ctx.case.lon, ctx.case.lat],
        "new": [cols["lon"], cols["lat"]],
        "handler": cols["handler_name"],
    }


def correct_type(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    # the stored point is in store coordinates already; the report's own system stays on record
    here = StorePoint(ctx.case.lon, ctx.case.lat, CoordSystem(ctx.case.input_crs))
    cols = _reroute(ctx, point=here, type_code=ctx.payload["type"])
    return cols, {
        "old": ctx.case.type_code,
        "new": cols["type_code"],
        "handler": cols["handler_name"],
    }


def merge(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    into = int(ctx.payload["into"])
    row = ctx.conn.execute(
        text("SELECT id, status, merged_into FROM case_file WHERE id = :i"), {"i": into}
    ).first()
    if (
        row is None
        or into == ctx.case.id
        or row.merged_into is not None
        or row.status in ("closed", "rejected")
    ):
        raise InvalidReport("merge into another open case that has not been merged itself")
    return ({"merged_into": into, "outcome": "duplicate", "closed_at": ctx.now}, {"into": into})


def rate(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    value = ctx.payload["satisfaction"]
    if value not in ("satisfied", "dissatisfied"):
        raise InvalidReport("satisfaction is satisfied or dissatisfied")
    return {"satisfaction": value}, {"satisfaction": value}


def hide(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    if ctx.case.hidden:
        raise InvalidReport("the case is already hidden from public views")
    return {"hidden": True}, {"hidden": True}


def unhide(ctx: Ctx) -> tuple[CaseChanges, EventData]:
    if not ctx.case.hidden:
        raise InvalidReport("the case is not hidden")
    return {"hidden": False}, {"hidden": False}


EFFECTS: dict[str, Effect] = {
    "accept": accept,
    "reject": reject,
    "dispatch": dispatch,
    "refer": refer,
    "joint": joint,
    "complete_task": complete_task,
    "resolve": resolve,
    "verify": verify,
    "fail_verification": reopen,
    "reopen": reopen,
    "dispute": reopen,
    "followup_reopen": reopen,
    "request_postpone": request_postpone,
    "postpone": postpone,
    "correct_location": correct_location,
    "correct_type": correct_type,
    "merge": merge,
    "refused_to_correct": refused_to_correct,
    "order_correction": order_correction,
    "escalate": escalate,
    "rate": rate,
    "hide": hide,
    "unhide": unhide,
}


def effect_for(action: str) -> Effect:
    """The effect of an action (none for plain status moves)."""
    return EFFECTS.get(action, _none)
