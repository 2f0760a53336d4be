"""The duties of 二（九）3–4, 二（十）2 and 三（二） through the service layer on real PostGIS:
community first then the town's mediation, a correction order and a refusal reaching the town
and the competent department, the staff's "dissuaded, refused to correct" report, the property
company's view of enforcement cases in its estate, and the work lists these fill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, IN_P112, IN_T2, file_report

from accounts.service import Principal
from incidents import service, tasks
from incidents.dissuasion import RefusalReport, file_refusal
from incidents.escalation import escalate_overdue
from incidents.exceptions import (
    CaseNotFound,
    InvalidReport,
    NotYourPlace,
    TaskNotFound,
    TransitionForbidden,
)

# A property-management dispute and a violation, named by the text, not looked up in the YAML:
# 二（十）2 / 二（九）3 and 二（三）2 (违章搭建建筑物 — urban management).
DISPUTE = "dispute_property_management"
ILLEGAL_BUILDING = "illegal_construction"


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def history(conn: Connection, case_id: int) -> list[tuple[str, str, dict]]:
    rows = conn.execute(
        text("SELECT action, actor_role, data FROM case_event WHERE case_id = :c ORDER BY id"),
        {"c": case_id},
    )
    return [(r.action, r.actor_role, r.data) for r in rows]


def kinds(conn: Connection, who: Principal, case_id: int) -> set[str]:
    return {t["kind"] for t in tasks.work_list(conn, principal=who) if t["case_id"] == case_id}


def test_dispute_goes_to_the_community_then_escalates_to_the_town(
    conn: Connection, world: dict
) -> None:
    d, c11, t1 = world["dispatcher"], world["community_c11"], world["town_t1"]
    out = file_report(conn, IN_P111, DISPUTE)
    assert out["routing"]["handler"]["party"] == "community_committee"
    assert out["routing"]["handler"]["unit"]["code"] == "C11"
    assert out["routing"]["escalation"]["party"] == "town_government"
    cid = out["id"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    act(conn, c11, cid, "start")
    assert "escalate" in service.get_case(conn, case_id=cid, principal=c11)["allowed_actions"]
    after = act(conn, c11, cid, "escalate", note="双方分歧大，社区调解未果")
    assert after["handler_party"] == "town_government" and after["handler_unit_code"] == "T1"
    assert "escalation" in kinds(conn, t1, cid)
    steps = [(a, data) for a, _r, data in history(conn, cid)]
    assert steps[0][0] == "report" and "甲一社区" in steps[0][1]["handler"]
    esc = next(data for a, data in steps if a == "escalate")
    assert "甲一社区" in esc["from"] and "甲街道" in esc["to"] and esc["automatic"] is False
    with pytest.raises(InvalidReport):  # once only
        service.system_action(conn, case_id=cid, action="escalate", payload={"note": "x"})


def test_a_dispute_past_the_community_time_limit_escalates_by_itself(
    conn: Connection, world: dict
) -> None:
    t1 = world["town_t1"]
    late = file_report(conn, IN_P112, DISPUTE)["id"]
    on_time = file_report(conn, IN_P112, DISPUTE)["id"]
    conn.execute(
        text("UPDATE case_file SET due_at = now() - interval '1 hour' WHERE id = :i"), {"i": late}
    )
    assert late in escalate_overdue(conn)
    assert on_time not in escalate_overdue(conn)  # and nothing twice
    case = service.get_case(conn, case_id=late, principal=world["dispatcher"])
    assert case["handler_party"] == "town_government"
    assert case["due_at"] > datetime.now(UTC)  # the town's own time limit
    (esc,) = [(role, data) for a, role, data in history(conn, late) if a == "escalate"]
    assert esc[0] == "system" and esc[1]["automatic"] is True
    assert "escalation" in kinds(conn, t1, late)


def test_town_orders_correction_and_a_refusal_reaches_the_department(
    conn: Connection, world: dict
) -> None:
    d, t1, urban, c11 = (world[k] for k in ("dispatcher", "town_t1", "urban", "community_c11"))
    cid = file_report(conn, IN_P111, ILLEGAL_BUILDING)["id"]
    act(conn, d, cid, "accept")
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    ordered = act(conn, t1, cid, "order_correction", note="限三日内自行拆除", due_at=due)
    (order,) = ordered["routing"]["correction_orders"]
    assert order["note"] == "限三日内自行拆除" and order["by"].startswith("town_t1")
    with pytest.raises(TransitionForbidden):
        act(conn, c11, cid, "order_correction", note="x", due_at=due)
    assert kinds(conn, urban, cid) == set()  # an order is the town's, nobody is told yet
    act(conn, t1, cid, "refused_to_correct", note="逾期未拆除，当事人拒不改正")
    assert kinds(conn, t1, cid) == {"refusal_report"}
    assert kinds(conn, urban, cid) == {"refusal_report"}
    assert kinds(conn, world["police_ps1"], cid) == set()  # not the competent department
    (task,) = [t for t in tasks.work_list(conn, principal=urban) if t["case_id"] == cid]
    assert task["note"] == "逾期未拆除，当事人拒不改正" and task["type_code"] == ILLEGAL_BUILDING
    done = tasks.finish_task(conn, principal=urban, task_id=task["id"], note="已立案查处")
    assert done["done"] and done["note"] == "已立案查处"
    assert cid not in {t["case_id"] for t in tasks.work_list(conn, principal=urban)}
    with pytest.raises(TaskNotFound):  # another unit's task is not in your list
        tasks.finish_task(conn, principal=world["town_t2"], task_id=task["id"])
    (notify,) = [data["notify"] for a, _r, data in history(conn, cid) if a == "refused_to_correct"]
    assert {n["party"] for n in notify} == {"town_government", "urban_management"}


def test_company_files_found_dissuaded_refused(conn: Connection, world: dict) -> None:
    jia, t1, urban = world["company_jia"], world["town_t1"], world["urban"]
    at = datetime.now(UTC) - timedelta(hours=2)
    out = file_refusal(
        conn,
        principal=jia,
        report=RefusalReport(
            lon=IN_P111[0],
            lat=IN_P111[1],
            type=ILLEGAL_BUILDING,
            said="已当面劝阻停止搭建，业主表示不予理会",
            dissuaded_at=at,
            party="5幢顶楼住户",
        ),
    )
    cid = out["id"]
    assert {n["party"] for n in out["notified"]} == {"town_government", "urban_management"}
    assert "refusal_report" in kinds(conn, t1, cid) and "refusal_report" in kinds(conn, urban, cid)
    steps = history(conn, cid)
    assert [a for a, _r, _d in steps] == ["report", "dissuasion", "refused_to_correct"]
    (diss,) = [data for a, _r, data in steps if a == "dissuasion"]
    assert diss["by"].startswith("company_jia") and diss["said"].startswith("已当面劝阻")
    assert datetime.fromisoformat(diss["at"]) == at and diss["photos"] == 0
    case = service.get_case(conn, case_id=cid, principal=world["dispatcher"])
    assert case["channel"] == "patrol_property" and case["handler_party"] == "urban_management"


def test_staff_refusal_only_from_their_own_place(conn: Connection, world: dict) -> None:
    def report(where: tuple[float, float], **kw: Any) -> RefusalReport:
        return RefusalReport(
            lon=where[0], lat=where[1], type=ILLEGAL_BUILDING, said="劝阻无效", **kw
        )

    with pytest.raises(NotYourPlace):  # P112 has no company, and is not 甲物业's
        file_refusal(conn, principal=world["company_jia"], report=report(IN_P112))
    with pytest.raises(NotYourPlace):
        file_refusal(conn, principal=world["community_c21"], report=report(IN_P111))
    with pytest.raises(TransitionForbidden):
        file_refusal(conn, principal=world["urban"], report=report(IN_P111))
    with pytest.raises(InvalidReport):  # a property-service matter is not a violation
        file_refusal(
            conn,
            principal=world["community_c11"],
            report=RefusalReport(
                lon=IN_P111[0], lat=IN_P111[1], type="common_area_cleaning", said="x"
            ),
        )
    with pytest.raises(InvalidReport):
        file_refusal(
            conn,
            principal=world["community_c11"],
            report=report(IN_P111, dissuaded_at=datetime.now(UTC) + timedelta(days=1)),
        )
    ok = file_refusal(conn, principal=world["community_c11"], report=report(IN_P112))
    assert ok["handler"].startswith("区城管局")


def test_company_sees_enforcement_cases_in_its_estate_without_identities(
    conn: Connection, world: dict
) -> None:
    jia, yi = world["company_jia"], world["company_yi"]
    mine = file_report(conn, IN_P111, ILLEGAL_BUILDING)["id"]
    elsewhere = file_report(conn, IN_T2, ILLEGAL_BUILDING)["id"]
    seen = service.get_case(conn, case_id=mine, principal=jia)
    assert seen["type_code"] == ILLEGAL_BUILDING and seen["status"] == "reported"
    assert seen["property_area_code"] == "P111" and seen["lon"] and seen["lat"]
    for hidden in ("description", "reporters", "routing", "tasks", "tracking_code", "channel"):
        assert hidden not in seen, hidden
    assert seen["allowed_actions"] == []
    evs = service.events(conn, case_id=mine, principal=jia)
    assert evs and all("actor_label" not in e and "data" not in e for e in evs)
    assert service.photos(conn, case_id=mine, principal=jia) == []
    listed = service.list_cases(conn, principal=jia)["items"]
    assert mine in {i["id"] for i in listed} and elsewhere not in {i["id"] for i in listed}
    assert all("description" not in i for i in listed if i["id"] == mine)
    with pytest.raises(CaseNotFound):
        service.get_case(conn, case_id=mine, principal=yi)  # another company's estate
    with pytest.raises(CaseNotFound):
        service.get_case(conn, case_id=elsewhere, principal=jia)


def test_several_agencies_put_a_joint_proposal_in_the_towns_list(
    conn: Connection, world: dict
) -> None:
    # a type naming a second enforcing agency (set here, not read from the YAML)
    conn.execute(
        text("""UPDATE violation_type SET participants = '["public_security"]'
                WHERE code = :c"""),
        {"c": ILLEGAL_BUILDING},
    )
    out = file_report(conn, IN_P111, ILLEGAL_BUILDING)
    assert out["routing"]["joint"] is True
    assert "joint_proposal" in kinds(conn, world["town_t1"], out["id"])
    single = file_report(conn, IN_P111, "household_noise")
    assert single["routing"]["joint"] is False
    assert kinds(conn, world["town_t1"], single["id"]) == set()
