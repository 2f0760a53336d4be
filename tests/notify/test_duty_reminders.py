"""督办 on a real PostGIS: a case's deadline reminders reach its unit through the work-notice
channel and the unit's duty e-mail and mobile, once per deadline and threshold ("near" within
4 h, then "passed"); a unit called to a joint enforcement is reminded of its report-in and
completion deadlines the same way; the sender's loop runs the reminders on its interval.

Hand-worked: the case's resolution deadline is set to 2031-03-20 17:30 Beijing time (09:30
UTC); a run at 12:30 (5 h before) reminds nobody, at 15:30 and 16:30 (2 h, 1 h before) one
"near" notice, at 17:31 and 19:30 one "passed" notice. A joint task's report-in due at 10:30
gets a "near" notice at 10:25 (10 min window), a "passed" one at 10:31 unless the unit reported
in; its completion due at 2031-03-21 17:30 a "passed" one at 17:31.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, text
from support import IN_P111, file_report, type_of

from accounts.service import Principal
from incidents import reminders, report_in, service
from notify import unit_contacts
from notify.channels import FileSink
from notify.exceptions import FollowError, UnitContactNotFound
from notify.sender import Every, deliver_due
from shudi.settings import Settings

SH = ZoneInfo("Asia/Shanghai")
RESIDENT = "13800000000"  # the reporter's (support.file_report)
DUTY_MOBILE = "13766667777"
DUTY_MAIL = "duty@um.example.org"
OTHER_MAIL = "duty@elsewhere.example.org"
DUE = datetime(2031, 3, 20, 17, 30, tzinfo=SH)


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2031, 3, day, hour, minute, tzinfo=SH)


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def told(conn: Connection, case_id: int, *templates: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("""SELECT * FROM notify_message WHERE case_id = :c AND template = ANY(:t)
                ORDER BY id"""),
        {"c": case_id, "t": list(templates)},
    )
    return [dict(r) for r in rows.mappings()]


def mine(sent: list[dict[str, Any]], case_id: int) -> list[tuple[str, bool]]:
    return [(s["deadline"], s["overdue"]) for s in sent if s["case"] == case_id]


@pytest.fixture
def dispatched(conn: Connection, world: dict[str, Principal]) -> dict[str, Any]:
    """A case dispatched to its urban-management unit, due at DUE, no other deadline."""
    code = type_of(conn, agency="urban_management", scope="enforcement")
    case = file_report(conn, IN_P111, code)
    act(conn, world["dispatcher"], case["id"], "accept")
    act(conn, world["dispatcher"], case["id"], "dispatch")
    conn.execute(
        text("""UPDATE case_file SET due_at = :d, respond_due_at = NULL, stop_due_at = NULL
                WHERE id = :c"""),
        {"d": DUE, "c": case["id"]},
    )
    row = conn.execute(
        text("SELECT handler_party, handler_unit_code FROM case_file WHERE id = :c"),
        {"c": case["id"]},
    ).one()
    return case | {"party": row.handler_party, "unit": row.handler_unit_code or ""}


def test_a_case_deadline_is_reminded_once_near_and_once_passed_to_the_unit_s_contacts(
    conn: Connection, world: dict[str, Principal], dispatched: dict[str, Any], tmp_path: Path
) -> None:
    cid, party, unit = dispatched["id"], dispatched["party"], dispatched["unit"]
    unit_contacts.add_contact(conn, party=party, unit_code=unit, label="值班室", contact=DUTY_MAIL)
    unit_contacts.add_contact(conn, party=party, unit_code=unit, contact=DUTY_MOBILE)
    # another unit's contact hears nothing of this case
    unit_contacts.add_contact(conn, party=party, unit_code=unit + "X", contact=OTHER_MAIL)

    assert mine(reminders.send_reminders(conn, now=at(20, 12, 30)), cid) == []
    assert mine(reminders.send_reminders(conn, now=at(20, 15, 30)), cid) == [("due_at", False)]
    assert mine(reminders.send_reminders(conn, now=at(20, 16, 30)), cid) == []  # sent already
    near = told(conn, cid, "deadline_near")
    assert sorted(r["channel"] for r in near) == ["email", "sms", "staff"]
    assert mine(reminders.send_reminders(conn, now=at(20, 17, 31)), cid) == [("due_at", True)]
    assert mine(reminders.send_reminders(conn, now=at(20, 19, 30)), cid) == []
    passed = told(conn, cid, "deadline_passed")
    assert sorted(r["channel"] for r in passed) == ["email", "sms", "staff"]
    events = service.events(conn, case_id=cid, principal=world["dispatcher"])
    events = [e for e in events if e["action"] == "reminder"]
    assert [e["note"] for e in events] == ["办结期限将至：2031-03-20 17:30",
                                          "办结期限已超时：2031-03-20 17:30"]  # fmt: skip

    # staff views show masked addresses only; the sealed ones open only in the sender
    shown = " ".join(r["recipient_masked"] for r in near + passed)
    assert "值班室 d***@um.example.org" in shown and "137****7777" in shown
    assert DUTY_MOBILE not in shown and DUTY_MAIL not in shown and OTHER_MAIL[1:] not in shown
    assert all(DUTY_MOBILE not in r["recipient"] for r in near + passed)

    sink = tmp_path / "sink.jsonl"
    fs = FileSink(sink)
    deliver_due(conn, transports={"sms": fs, "email": fs, "staff": fs},
                settings=Settings(notify_quiet_hours="off"), now=at(20, 17, 40))  # fmt: skip
    out = [json.loads(x) for x in sink.read_text().splitlines()]
    duty = [m for m in out if m["template"] in ("deadline_near", "deadline_passed")
            and str(cid) in m["body"]]  # fmt: skip
    by = sorted((m["channel"], m["to"], m["template"]) for m in duty)
    assert by == sorted([
        ("email", DUTY_MAIL, "deadline_near"), ("email", DUTY_MAIL, "deadline_passed"),
        ("sms", DUTY_MOBILE, "deadline_near"), ("sms", DUTY_MOBILE, "deadline_passed"),
        ("staff", f"{party}/{unit}", "deadline_near"),
        ("staff", f"{party}/{unit}", "deadline_passed"),
    ])  # fmt: skip
    sms = next(m for m in duty if m["channel"] == "sms" and m["template"] == "deadline_passed")
    assert sms["body"].startswith("【属地】督办：") and "2031-03-20 17:30已超时" in sms["body"]
    assert all(RESIDENT not in json.dumps(m, ensure_ascii=False) for m in duty)


def test_a_moved_deadline_is_a_new_one(conn: Connection, dispatched: dict[str, Any]) -> None:
    cid = dispatched["id"]
    assert mine(reminders.send_reminders(conn, now=at(20, 17, 31)), cid) == [("due_at", True)]
    conn.execute(text("UPDATE case_file SET due_at = :d WHERE id = :c"),
                 {"d": at(21, 17, 30), "c": cid})  # fmt: skip
    assert mine(reminders.send_reminders(conn, now=at(21, 14, 0)), cid) == [("due_at", False)]


def test_called_units_are_reminded_of_report_in_and_completion(
    conn: Connection, world: dict[str, Principal]
) -> None:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    cid = int(file_report(conn, IN_P111, code)["id"])
    act(conn, world["dispatcher"], cid, "accept")
    act(conn, world["town_t1"], cid, "joint", parties=["urban_management", "public_security"])
    tasks = {c["party"]: c for c in report_in.case_clocks(conn, case_id=cid)}
    conn.execute(
        text("UPDATE task_response SET report_due_at = :r, complete_due_at = :c"
             " WHERE task_id = ANY(:t)"),
        {"r": at(20, 10, 30), "c": at(21, 17, 30), "t": [t["task_id"] for t in tasks.values()]},
    )  # fmt: skip
    police = tasks["public_security"]
    unit_contacts.add_contact(
        conn, party="public_security", unit_code=police["unit_code"], contact=DUTY_MOBILE
    )

    def run(now: datetime) -> list[tuple[str, str, bool]]:
        sent = reminders.send_task_reminders(conn, now=now)
        return sorted((s["deadline"], str(s["unit"]), s["overdue"]) for s in sent
                      if s["case"] == cid)  # fmt: skip

    assert run(at(20, 10, 0)) == []
    names = {p: t["unit_name"] for p, t in tasks.items()}
    assert run(at(20, 10, 25)) == sorted([("report_due_at", names[p], False) for p in names])
    assert run(at(20, 10, 28)) == []
    # urban management reports in at 10:29; only the police is overdue at 10:31
    conn.execute(
        text("""UPDATE task_response SET reported_at = :t, report_lon = 120.002,
                    report_lat = 30.002 WHERE task_id = :i"""),
        {"t": at(20, 10, 29), "i": tasks["urban_management"]["task_id"]},
    )
    assert run(at(20, 10, 31)) == [("report_due_at", names["public_security"], True)]
    assert run(at(21, 14, 0)) == sorted([("complete_due_at", names[p], False) for p in names])
    assert run(at(21, 17, 31)) == sorted([("complete_due_at", names[p], True) for p in names])
    assert run(at(21, 20, 0)) == []

    rows = told(conn, cid, "deadline_near", "deadline_passed")
    police_sms = [r for r in rows if r["channel"] == "sms"]
    assert len(police_sms) == 4  # report-in near and passed, completion near and passed
    assert all(r["recipient_masked"].endswith(" 137****7777") for r in police_sms)
    staff = [r for r in rows if r["channel"] == "staff"]
    to_police = [r for r in staff if r["recipient"] == f"public_security/{police['unit_code']}"]
    assert len(to_police) == 4 and len(staff) == 7
    assert any("联合执法报到期限2031-03-20 10:30已超时" in r["body"] for r in to_police)
    assert any("联合执法完成期限2031-03-21 17:30将至" in r["body"] for r in to_police)


def test_unit_contacts_are_checked_and_removed(
    conn: Connection, world: dict[str, Principal]
) -> None:
    with pytest.raises(FollowError):
        unit_contacts.add_contact(conn, party="no_such_agency", contact=DUTY_MAIL)
    with pytest.raises(FollowError):
        unit_contacts.add_contact(conn, party="urban_management", contact="12345")
    made = unit_contacts.add_contact(conn, party="urban_management", contact=DUTY_MAIL)
    again = unit_contacts.add_contact(conn, party="urban_management", contact=DUTY_MAIL.upper())
    assert made["id"] == again["id"] and made["recipient"] == "d***@um.example.org"
    listed = unit_contacts.list_contacts(conn, party="urban_management")
    assert [c["recipient"] for c in listed] == ["d***@um.example.org"]
    unit_contacts.remove_contact(conn, contact_id=made["id"])
    with pytest.raises(UnitContactNotFound):
        unit_contacts.remove_contact(conn, contact_id=made["id"])


def test_the_sender_loop_runs_the_reminders_on_their_interval() -> None:
    calls: list[int] = []
    job = Every(60, lambda engine: calls.append(1) or "", "督办")
    assert job.tick(None, now=1000.0) and calls == [1]  # type: ignore[arg-type]
    assert not job.tick(None, now=1059.0) and calls == [1]  # type: ignore[arg-type]
    assert job.tick(None, now=1060.0) and calls == [1, 1]  # type: ignore[arg-type]
    off = Every(0, lambda engine: calls.append(2), "off")
    assert not off.tick(None, now=5000.0) and 2 not in calls  # type: ignore[arg-type]

    def broken(engine: Any) -> str:
        raise RuntimeError("a bad template")

    failing = Every(60, broken, "督办")
    assert failing.tick(None, now=0.0)  # type: ignore[arg-type]  # logged, the loop goes on


def test_a_phone_in_the_resident_s_address_text_reaches_no_unit(
    conn: Connection, dispatched: dict[str, Any]
) -> None:
    cid = dispatched["id"]
    conn.execute(text("UPDATE case_file SET address_text = :a WHERE id = :c"),
                 {"a": "3幢502 电话139 1234 5678，或0571-87654321", "c": cid})  # fmt: skip
    unit_contacts.add_contact(
        conn, party=dispatched["party"], unit_code=dispatched["unit"], contact=DUTY_MOBILE
    )
    reminders.send_reminders(conn, now=at(20, 17, 31))
    rows = told(conn, cid, "deadline_passed")
    assert len(rows) == 2
    staff = next(r for r in rows if r["channel"] == "staff")  # the SMS names no address
    assert "3幢502 电话[电话已隐去]，或[电话已隐去]" in staff["body"], staff["body"]
    for r in rows:
        assert "5678" not in r["body"] and "87654321" not in r["body"]
