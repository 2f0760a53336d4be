"""The whole case lifecycle through the service layer, on a real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from support import IN_P111, IN_P112, IN_T2, file_report, type_of

from accounts.service import Principal
from incidents import service
from incidents.exceptions import (
    CaseNotFound,
    InvalidTransition,
    MissingField,
    PreconditionRequired,
    TransitionForbidden,
    VersionMismatch,
)


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def actions(conn: Connection, case_id: int) -> list[str]:
    rows = conn.execute(
        text("SELECT action FROM case_event WHERE case_id = :c ORDER BY id"), {"c": case_id}
    )
    return [r.action for r in rows]


def test_enforcement_case_end_to_end(conn: Connection, world: dict) -> None:
    d, urban, c11 = world["dispatcher"], world["urban"], world["community_c11"]
    code = type_of(conn, agency="urban_management", scope="enforcement")
    out = file_report(conn, IN_P111, code)
    assert out["status"] == "reported" and len(out["tracking_code"]) == 12
    assert out["routing"]["handler"]["party"] == "urban_management"
    assert out["routing"]["territory"]["town"]["code"] == "T1"
    cid = out["id"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    assert "start" in service.get_case(conn, case_id=cid, principal=urban)["allowed_actions"]
    act(conn, urban, cid, "start")
    act(conn, urban, cid, "resolve", note="已拆除")
    closed = act(conn, c11, cid, "verify", outcome="fixed", note="现场核实")
    assert closed["status"] == "closed" and closed["outcome"] == "fixed"
    tracked = service.resident_action(
        conn,
        tracking_code=out["tracking_code"],
        action="rate",
        payload={"satisfaction": "satisfied"},
    )
    assert tracked["satisfaction"] == "satisfied"
    assert actions(conn, cid) == [
        "report",
        "accept",
        "dispatch",
        "start",
        "resolve",
        "verify",
        "rate",
    ]
    public = [e["action"] for e in tracked["events"]]
    assert public == actions(conn, cid)
    assert "13800000000" not in str(tracked) and "张三" not in str(tracked)


def test_property_service_goes_to_the_company(conn: Connection, world: dict) -> None:
    code = type_of(conn, scope="property_service")
    cid = file_report(conn, IN_P111, code)["id"]
    company, d = world["company_jia"], world["dispatcher"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    act(conn, company, cid, "start")
    case = act(conn, company, cid, "resolve", note="已清理")
    assert case["handler_party"] == "property_company"
    # the company may be the party complained about: it never sees the complainant unless
    # the dispatcher decides so (tests/security/test_leak_findings.py)
    assert "reporters" not in case and "13800000000" not in str(case)
    with pytest.raises(CaseNotFound):  # another company never sees it
        service.get_case(conn, case_id=cid, principal=world["company_yi"])
    # no company in P112: the town runs simple property management (九.2)
    other = file_report(conn, IN_P112, code)
    assert other["routing"]["handler"]["party"] == "town_government"
    act(conn, d, other["id"], "accept")
    act(conn, d, other["id"], "dispatch")
    act(conn, world["town_t1"], other["id"], "start")


def test_dispute_and_utility(conn: Connection, world: dict) -> None:
    d = world["dispatcher"]
    dispute = file_report(conn, IN_P111, type_of(conn, scope="dispute"))
    parties = {p["party"] for p in dispute["routing"]["participants"]}
    parties.add(dispute["routing"]["handler"]["party"])  # the community may lead (二（十）2)
    assert {"community_committee", "town_government"} <= parties
    util = file_report(conn, IN_T2, type_of(conn, scope="utility"))
    assert util["routing"]["handler"]["party"] == "utility"
    case = service.get_case(conn, case_id=util["id"], principal=d)
    assert case["urgency"] == "urgent"
    assert case["due_at"] - case["created_at"] == timedelta(hours=24)
    for step in ("accept", "dispatch", "start"):
        act(conn, d, util["id"], step)
    act(conn, d, util["id"], "resolve", note="已恢复供水")


def test_referral_reroutes_at_once(conn: Connection, world: dict) -> None:
    d, ps1, urban = world["dispatcher"], world["police_ps1"], world["urban"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="public_security"))["id"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    with pytest.raises(MissingField):
        act(conn, ps1, cid, "refer", to_party="urban_management")
    after = act(conn, ps1, cid, "refer", to_party="urban_management", note="属违建，非治安")
    assert after["visible"] is False and after["handler_party"] == "urban_management"
    case = service.get_case(conn, case_id=cid, principal=d)
    assert case["status"] == "referred" and case["handler_party"] == "urban_management"
    assert case["routing"]["referrals"][0]["reason"] == "属违建，非治安"
    with pytest.raises(CaseNotFound):  # the police no longer see it
        service.get_case(conn, case_id=cid, principal=ps1)
    act(conn, urban, cid, "start")


def test_joint_enforcement_closes_when_every_task_is_done(conn: Connection, world: dict) -> None:
    d, t1 = world["dispatcher"], world["town_t1"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    act(conn, d, cid, "accept")
    case = act(
        conn, t1, cid, "joint", parties=["urban_management", "public_security"], note="联合执法"
    )
    assert case["status"] == "joint" and len(case["tasks"]) == 2
    police_task = next(t for t in case["tasks"] if t["party"] == "public_security")
    assert police_task["unit_code"] == "PS1"
    ps1 = world["police_ps1"]
    assert service.get_case(conn, case_id=cid, principal=ps1)  # a task makes it visible
    with pytest.raises(CaseNotFound):  # an agency without a task does not even see it
        act(conn, world["housing"], cid, "complete_task", task_id=police_task["id"])
    act(conn, ps1, cid, "complete_task", task_id=police_task["id"], note="已处置")
    urban_task = next(t for t in case["tasks"] if t["party"] == "urban_management")
    done = act(conn, world["urban"], cid, "complete_task", task_id=urban_task["id"])
    assert done["status"] == "resolved"


def test_refusal_to_correct_notifies_town_and_agency(conn: Connection, world: dict) -> None:
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    act(conn, world["community_c11"], cid, "refused_to_correct", note="当事人拒不整改")
    event = service.events(conn, case_id=cid, principal=world["dispatcher"])[-1]
    assert event["action"] == "refused_to_correct" and not event["public"]
    assert {n["party"] for n in event["data"]["notify"]} == {"town_government", "urban_management"}


def test_merge_and_reporters_follow(conn: Connection, world: dict) -> None:
    code = type_of(conn, agency="urban_management")
    first = file_report(conn, IN_P111, code)
    second = file_report(conn, (IN_P111[0] + 0.0001, IN_P111[1]), code)
    from incidents.intake import likely_duplicates

    dupes = likely_duplicates(
        conn, lon=IN_P111[0], lat=IN_P111[1], type_code=code, exclude=second["id"]
    )
    assert [r["id"] for r in dupes] == [first["id"]]
    merged = act(conn, world["dispatcher"], second["id"], "merge", into=first["id"])
    assert merged["status"] == "closed" and merged["outcome"] == "duplicate"
    followed = service.track(conn, tracking_code=second["tracking_code"])
    assert followed["status"] == "reported" and followed["created_at"]
    survivor = service.get_case(conn, case_id=first["id"], principal=world["dispatcher"])
    assert len(survivor["reporters"]) == 2


def test_postpone_reopen_and_location_correction(conn: Connection, world: dict) -> None:
    d, urban, c11 = world["dispatcher"], world["urban"], world["community_c11"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    for who, step in ((d, "accept"), (d, "dispatch"), (urban, "start")):
        act(conn, who, cid, step)
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    act(conn, urban, cid, "request_postpone", note="需补充勘测", due_at=later)
    case = act(conn, d, cid, "postpone", note="同意", due_at=later)
    assert case["status"] == "postponed" and case["due_at"].isoformat()[:16] == later[:16]
    act(conn, urban, cid, "resume")
    act(conn, urban, cid, "resolve", note="已处理")
    reopened = act(conn, c11, cid, "fail_verification", note="现场未整改")
    assert reopened["status"] == "reopened"
    moved = act(conn, d, cid, "correct_location", lon=IN_T2[0], lat=IN_T2[1])
    assert moved["town_code"] == "T2" and moved["community_code"] == "C22"
    assert moved["lon"] == IN_T2[0]
    ev = service.events(conn, case_id=cid, principal=d)[-1]
    assert ev["action"] == "correct_location" and ev["data"]["new"] == list(IN_T2)


def test_workflow_guards(conn: Connection, world: dict) -> None:
    d = world["dispatcher"]
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    with pytest.raises(InvalidTransition) as err:
        act(conn, d, cid, "resolve", note="x")
    assert set(err.value.details["allowed"]) >= {"accept", "reject"}
    with pytest.raises(PreconditionRequired):
        service.transition(
            conn, case_id=cid, principal=d, action="accept", payload={}, if_match=None
        )
    with pytest.raises(VersionMismatch):
        service.transition(conn, case_id=cid, principal=d, action="accept", payload={}, if_match=99)
    with pytest.raises(TransitionForbidden):
        act(conn, world["town_t1"], cid, "accept")
    with pytest.raises(MissingField):
        act(conn, d, cid, "reject")
    rejected = act(
        conn, d, cid, "reject", note="内部：举报人多次重复", public_reply="不属于受理范围"
    )
    tracked = service.track(conn, tracking_code=rejected["tracking_code"])
    assert tracked["status"] == "rejected" and tracked["rejection_reason"] == "不属于受理范围"
    assert "举报人多次重复" not in str(tracked)  # the staff's note stays inside


def test_events_are_append_only(conn: Connection, world: dict) -> None:
    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    for sql in (
        "UPDATE case_event SET note = 'x' WHERE case_id = :c",
        "DELETE FROM case_event WHERE case_id = :c",
    ):
        with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
            conn.execute(text(sql), {"c": cid})


def test_every_role_sees_only_its_own(conn: Connection, world: dict) -> None:
    """Role × case matrix: foreign cases answer 404 (not found), never their contents."""
    police = file_report(conn, IN_T2, type_of(conn, agency="public_security"))["id"]  # PS2, T2
    company = file_report(conn, IN_P111, type_of(conn, scope="property_service"))["id"]
    sees = {
        "dispatcher": {police, company},
        "police_ps1": set(),
        "police_ps2": {police},
        "urban": set(),
        "housing": set(),
        "town_t1": {company},
        "town_t2": {police},
        "community_c11": {company},
        "community_c21": set(),
        "company_jia": {company},
        "company_yi": set(),
        "planner": set(),
        "admin": {police, company},  # an overview (issue 15: "the admin sees 0 cases")
    }
    for name, visible in sees.items():
        who = world[name]
        listed = {c["id"] for c in service.list_cases(conn, principal=who)["items"]}
        assert listed == visible, name
        for cid in (police, company):
            if cid in visible:
                assert service.get_case(conn, case_id=cid, principal=who)["id"] == cid
                assert service.events(conn, case_id=cid, principal=who)
            else:
                with pytest.raises(CaseNotFound):
                    service.get_case(conn, case_id=cid, principal=who)
                with pytest.raises(CaseNotFound):
                    service.events(conn, case_id=cid, principal=who)
                with pytest.raises(CaseNotFound):
                    service.transition(
                        conn,
                        case_id=cid,
                        principal=who,
                        action="comment",
                        payload={"note": "x"},
                        if_match=1,
                    )
        handles = {police: "police_ps2", company: "company_jia"}
        for cid in visible:  # personal data: the dispatcher only (handlers when revealed)
            shows_phone = "13800000000" in str(service.get_case(conn, case_id=cid, principal=who))
            assert shows_phone == (name == "dispatcher"), (name, cid, handles[cid])


def test_cases_geojson_and_since(conn: Connection, world: dict) -> None:
    import json

    d = world["dispatcher"]
    first = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    fc = json.loads(service.cases_geojson(conn, principal=d))
    assert [f["id"] for f in fc["features"]] == [first]
    feat = fc["features"][0]
    assert feat["geometry"]["coordinates"] == list(IN_P111)
    assert feat["properties"]["agency"] == "urban_management" and not fc["truncated"]
    assert "13800000000" not in json.dumps(fc)
    mark = fc["now"]
    act(conn, d, first, "reject", note="重复")
    changes = json.loads(service.cases_geojson(conn, principal=d, since=mark))
    assert [f["properties"]["status"] for f in changes["features"]] == ["rejected"]
    assert json.loads(service.cases_geojson(conn, principal=d))["features"] == []
    assert json.loads(service.cases_geojson(conn, principal=world["planner"]))["features"] == []


def test_reminders_once_per_deadline(conn: Connection, world: dict) -> None:
    from incidents.reminders import send_reminders

    cid = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    later = datetime.now(UTC) + timedelta(days=40)
    sent = send_reminders(conn, now=later)
    mine = [s for s in sent if s["case"] == cid]
    assert {s["deadline"] for s in mine} >= {"respond_due_at", "due_at"}
    assert all(s["overdue"] for s in mine)
    assert not [s for s in send_reminders(conn, now=later) if s["case"] == cid]  # once each
    ev = service.events(conn, case_id=cid, principal=world["dispatcher"])[-1]
    assert ev["action"] == "reminder" and ev["actor_role"] == "system" and not ev["public"]
    listed = service.list_cases(conn, principal=world["dispatcher"], overdue=True)
    assert cid not in {c["id"] for c in listed["items"]}  # not overdue now, only in 40 days


def test_staff_channels(conn: Connection, world: dict) -> None:
    from incidents.exceptions import InvalidReport
    from incidents.intake import Report, create_case

    code = type_of(conn, agency="urban_management")
    patrol = create_case(
        conn,
        report=Report(lon=IN_P111[0], lat=IN_P111[1], type=code, channel="patrol_community"),
        actor=world["community_c11"],
    )
    phone = create_case(
        conn,
        report=Report(
            lon=IN_P111[0],
            lat=IN_P111[1],
            type=code,
            channel="phone",
            urgency="urgent",
            phone="13900000000",
        ),
        actor=world["dispatcher"],
    )
    own = create_case(
        conn,
        report=Report(lon=IN_T2[0], lat=IN_T2[1], type=code, channel="agency"),
        actor=world["urban"],
    )
    rows = conn.execute(
        text(
            "SELECT id, channel, urgency, created_by FROM case_file "
            "WHERE id = ANY(:ids) ORDER BY id"
        ),
        {"ids": [patrol.id, phone.id, own.id]},
    ).all()
    assert [(r.channel, r.urgency) for r in rows] == [
        ("patrol_community", "ordinary"),
        ("phone", "urgent"),
        ("agency", "ordinary"),
    ]
    assert rows[0].created_by == world["community_c11"].user_id
    with pytest.raises(InvalidReport):  # a resident cannot use a staff channel
        create_case(conn, report=Report(lon=IN_P111[0], lat=IN_P111[1], type=code, channel="phone"))
    with pytest.raises(InvalidReport):  # nor set the urgency
        create_case(
            conn, report=Report(lon=IN_P111[0], lat=IN_P111[1], type=code, urgency="emergency")
        )
    with pytest.raises(InvalidReport):  # a planner files nothing
        create_case(
            conn,
            report=Report(lon=IN_P111[0], lat=IN_P111[1], type=code, channel="agency"),
            actor=world["planner"],
        )
