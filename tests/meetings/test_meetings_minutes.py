"""Recording a meeting: actions on the linked cases, follow-ups in the next agenda, roles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from accounts.service import Principal
from incidents import service as cases
from meetings import agenda, minutes, service
from meetings.exceptions import (
    ActionAlreadyDone,
    ActionNotFound,
    InvalidMeeting,
    MeetingAlreadyHeld,
    MeetingForbidden,
    MeetingNotFound,
)

ATTENDEES = [
    {"party": "town_government", "unit": "甲街道办事处", "name": "王主任"},
    {"party": "public_security", "unit": "西派出所", "name": ""},
    {"party": "housing_service_center", "unit": "区房地产服务中心", "name": ""},
    {"party": "owners_committee", "unit": "金桂苑业主委员会", "name": "李"},
]


def next_month(first: str) -> str:
    y, m = map(int, first.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def prepare(conn: Connection, who: Principal | None, **kw: Any) -> dict:
    kw = {"town": "T1", "month": None, "hotspot": agenda.community_hotspots} | kw
    return service.prepare(conn, principal=who, **kw)


def item(meeting: dict, kind: str) -> dict:
    return next(i for i in meeting["items"] if i["kind"] == kind)


def record(conn: Connection, who: Principal, meeting: dict, **over: Any) -> dict:
    today = service.today()
    decisions = [
        {
            "item_id": item(meeting, "overdue")["id"],
            "decision": "房地产服务中心一周内办结",
            "actions": [
                {
                    "title": "督促物业企业完成整改",
                    "owner_kind": "agency",
                    "owner_code": "housing_service_center",
                    "due_on": today + timedelta(days=7),
                }
            ],
        },
        {
            "item_id": item(meeting, "referred_repeatedly")["id"],
            "decision": "明确由西派出所牵头",
            "actions": [
                {
                    "title": "西派出所牵头处置",
                    "owner_kind": "agency_unit",
                    "owner_code": "PS1",
                    "owner_agency": "public_security",
                    "due_on": today + timedelta(days=3),
                },
                {
                    "title": "街道复核职责划分",
                    "owner_kind": "town",
                    "owner_code": "T1",
                    "due_on": today + timedelta(days=14),
                },
            ],
        },
    ]
    args: dict[str, Any] = {
        "held_on": today,
        "attendees": ATTENDEES,
        "decisions": decisions,
        "note": "会议要求各单位按期办结。",
    } | over
    return minutes.record(conn, meeting_id=meeting["id"], principal=who, **args)


def test_recording_creates_actions_visible_on_the_cases(
    conn: Connection, planted: dict, world: dict
) -> None:
    t1 = world["town_t1"]
    held = record(conn, t1, prepare(conn, t1))
    assert held["status"] == "held" and held["held_on"] == service.today()
    assert [a["party"] for a in held["attendees"]] == [a["party"] for a in ATTENDEES]
    referred = item(held, "referred_repeatedly")
    assert [a["owner_name"] for a in referred["actions"]] == ["区公安局 西派出所", "甲街道"]
    # the columns the annual assessment reads
    rows = conn.execute(
        text("""SELECT owner_kind, owner_code, due_on, done_on FROM meeting_action
                WHERE meeting_id = :m ORDER BY id"""),
        {"m": held["id"]},
    ).all()
    assert [(r.owner_kind, r.owner_code, r.done_on) for r in rows] == [
        ("agency", "housing_service_center", None),
        ("agency_unit", "PS1", None),
        ("town", "T1", None),
    ]
    # the handler of the overdue case sees the decision in the case's history
    events = cases.events(conn, case_id=planted["overdue"], principal=world["housing"])
    mine = [e for e in events if e["action"] == "meeting_action"]
    assert len(mine) == 1 and not mine[0]["public"]
    assert mine[0]["data"]["owner"]["code"] == "housing_service_center"
    assert mine[0]["data"]["meeting_id"] == held["id"]
    # two actions on the referred case; residents' tracking view does not show them
    events = cases.events(conn, case_id=planted["referred"], principal=world["dispatcher"])
    assert sum(e["action"] == "meeting_action" for e in events) == 2
    # the agenda of a held meeting no longer changes
    with pytest.raises(MeetingAlreadyHeld):
        prepare(conn, t1)
    with pytest.raises(MeetingAlreadyHeld):
        record(conn, t1, held)


def test_next_months_agenda_follows_up_actions_not_done(
    conn: Connection, planted: dict, world: dict
) -> None:
    t1 = world["town_t1"]
    held = record(conn, t1, prepare(conn, t1))
    nxt = prepare(conn, t1, month=next_month(held["month"]))
    follow = [i for i in nxt["items"] if i["kind"] == "action_followup"]
    assert [i["case_ids"] for i in follow] == [
        [planted["referred"]],
        [planted["overdue"]],
        [planted["referred"]],
    ]  # by due date
    assert follow[0]["title"].startswith("跟进：西派出所牵头处置（责任单位：区公安局 西派出所")
    assert nxt["items"][: len(follow)] == follow  # unfinished business first
    first_action = item(held, "overdue")["actions"][0]["id"]
    done = minutes.complete_action(conn, action_id=first_action, principal=t1, note="已办结")
    assert item(done, "overdue")["actions"][0]["done_on"] == service.today()
    events = cases.events(conn, case_id=planted["overdue"], principal=world["dispatcher"])
    assert events[-1]["action"] == "meeting_action_done"
    with pytest.raises(ActionAlreadyDone):
        minutes.complete_action(conn, action_id=first_action, principal=t1)
    refreshed = prepare(conn, t1, month=next_month(held["month"]))
    left = [i["data"]["action_id"] for i in refreshed["items"] if i["kind"] == "action_followup"]
    assert first_action not in left and len(left) == 2


def test_who_may_do_what(conn: Connection, planted: dict, world: dict) -> None:
    t1, t2, d = world["town_t1"], world["town_t2"], world["dispatcher"]
    meeting = prepare(conn, world["admin"])
    assert service.load(conn, meeting_id=meeting["id"], principal=d)["id"] == meeting["id"]
    assert [m["id"] for m in service.list_meetings(conn, principal=t2)] == []
    assert [m["id"] for m in service.list_meetings(conn, principal=t1)] == [meeting["id"]]
    with pytest.raises(MeetingNotFound):
        service.load(conn, meeting_id=meeting["id"], principal=t2)
    for who in ("planner", "police_ps1", "community_c11", "company_jia"):
        with pytest.raises(MeetingForbidden):
            service.load(conn, meeting_id=meeting["id"], principal=world[who])
    with pytest.raises(MeetingForbidden):  # a dispatcher reads but does not record
        record(conn, d, meeting)
    with pytest.raises(MeetingForbidden):
        prepare(conn, d)
    with pytest.raises(MeetingForbidden):
        prepare(conn, t2)  # another town's coordinator
    with pytest.raises(MeetingNotFound):
        record(conn, t2, meeting)
    held = record(conn, t1, meeting)
    action = item(held, "overdue")["actions"][0]["id"]
    with pytest.raises(ActionNotFound):
        minutes.complete_action(conn, action_id=action, principal=t2)
    with pytest.raises(MeetingForbidden):
        minutes.complete_action(conn, action_id=action, principal=d)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"held_on": date(2099, 1, 1)}, "future"),
        ({"attendees": []}, "attendee"),
        ({"owner_code": "no_such_agency"}, "unknown agency"),
        (
            {"owner_kind": "agency_unit", "owner_code": "PS9", "owner_agency": "public_security"},
            "no field unit",
        ),
        ({"owner_kind": "agency_unit", "owner_code": "PS1"}, "owner_agency"),
        ({"owner_kind": "town", "owner_code": "T9"}, "T9"),
        ({"due_on": date(2000, 1, 1)}, "due before"),
        ({"item_id": 0}, "is not an"),
    ],
)
def test_bad_minutes_are_refused_whole(
    conn: Connection, planted: dict, world: dict, change: dict, message: str
) -> None:
    t1 = world["town_t1"]
    meeting = prepare(conn, t1)
    over: dict[str, Any] = {k: v for k, v in change.items() if k in ("held_on", "attendees")}
    action = {
        "title": "事项",
        "owner_kind": "agency",
        "owner_code": "urban_management",
        "due_on": service.today(),
    } | {k: v for k, v in change.items() if k.startswith("owner") or k == "due_on"}
    over["decisions"] = [
        {
            "item_id": change.get("item_id", meeting["items"][0]["id"]),
            "decision": "决定",
            "actions": [action],
        }
    ]
    with pytest.raises(InvalidMeeting, match=message), conn.begin_nested():
        record(conn, t1, meeting, **over)  # (the request's transaction is rolled back)
    after = service.load(conn, meeting_id=meeting["id"], principal=t1)
    assert after["status"] == "draft" and after["attendees"] == []
