"""The outbox on a real PostGIS: messages written with the case change, delivered by the
sender with quiet hours, rate caps, back-off and dead letters; opt-out; staff's view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from protocol_servers import Received, http_server
from sqlalchemy import Connection, text
from support import IN_P111, app_client, file_report, type_of

from accounts.service import Principal, issue_token
from incidents import privacy, reminders, service
from incidents.intake import Report, create_case
from notify import service as notify
from notify.channels import FileSink, Transport, Webhook
from notify.events import expand_due
from notify.sender import deliver_due
from shudi.settings import Settings

PHONE = "13800000000"  # what tests/support.py's file_report leaves
EMAIL = "zhang.san@example.com"
BJ = timezone(timedelta(hours=8))
#: a working morning in Beijing, after every row the test writes (next_attempt_at = now())
MORNING = datetime.now(BJ).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def messages(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    expand_due(conn)  # a report's messages are written by the sender from its event
    rows = conn.execute(
        text("SELECT * FROM notify_message WHERE case_id = :c ORDER BY id"), {"c": case_id}
    )
    return [dict(r) for r in rows.mappings()]


def quiet_off(**over: Any) -> Settings:
    return Settings(notify_quiet_hours="off", **over)


def sinks(path: Path) -> dict[str, Transport]:
    sink = FileSink(path)
    return {"sms": sink, "email": sink, "staff": sink}


@pytest.fixture
def case(conn: Connection, world: dict[str, Principal]) -> dict[str, Any]:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    return file_report(conn, IN_P111, code, email=EMAIL)


@pytest.fixture
def dispatched(conn: Connection, world: dict[str, Principal], case: dict[str, Any]) -> dict:
    """The case accepted and dispatched (派单): its unit has a notice too."""
    act(conn, world["dispatcher"], case["id"], "accept")
    act(conn, world["dispatcher"], case["id"], "dispatch")
    return case


def test_a_report_writes_its_messages_in_its_own_transaction(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any]
) -> None:
    events = text("SELECT action FROM notify_event WHERE case_id = :c")  # stored with the case
    assert conn.execute(events, {"c": case["id"]}).scalars().all() == ["report"]
    got = sorted((r["channel"], r["template"], r["state"]) for r in messages(conn, case["id"]))
    assert got == [("email", "case_accepted", "pending"), ("sms", "case_accepted", "pending")]
    act(conn, world["dispatcher"], case["id"], "accept")  # the resident was told already
    assert len(messages(conn, case["id"])) == 2
    act(conn, world["dispatcher"], case["id"], "dispatch")
    rows = messages(conn, case["id"])
    sms = next(r for r in rows if r["channel"] == "sms")
    email = next(r for r in rows if r["channel"] == "email")
    staff = next(r for r in rows if r["channel"] == "staff")
    code = case["tracking_code"]
    assert sms["body"].startswith("【属地】") and code in sms["body"]
    assert f"/track/{code}" in sms["body"] and len(sms["body"]) <= 3 * 67
    assert (
        sms["recipient_masked"] == "138****0000" and email["recipient_masked"] == "z***@example.com"
    )
    assert sms["recipient"].startswith("pii1:")  # sealed at rest
    assert staff["recipient"].startswith("urban_management/")
    assert staff["body"].startswith("【新案件】") and f"/cases/{case['id']}" in staff["body"]
    for row in rows:  # the address travels only sealed, never in a text
        shown = json.dumps({k: v for k, v in row.items() if k != "recipient"}, default=str)
        assert PHONE not in shown and EMAIL not in shown
    assert {r["key"] for r in rows}.__len__() == 3 and sms["template_version"] == 1


def test_who_is_told_what_along_the_workflow(
    conn: Connection, world: dict[str, Principal], dispatched: dict[str, Any]
) -> None:
    d, urban, c11 = world["dispatcher"], world["urban"], world["community_c11"]
    cid = dispatched["id"]
    act(conn, urban, cid, "start")
    act(conn, d, cid, "postpone", note="等待业主配合", due_at="2031-03-20T17:30:00+08:00")
    act(conn, urban, cid, "resume")
    act(conn, urban, cid, "resolve", note="已拆除")
    act(conn, c11, cid, "verify", outcome="fixed")
    act(conn, d, cid, "reopen", note="群众反映又搭了")
    seq = [(r["channel"], r["template"]) for r in messages(conn, cid)]
    assert [t for c, t in seq if c == "sms"] == [
        "case_accepted", "case_postponed", "case_resolved", "case_closed"
    ]  # fmt: skip
    assert [t for c, t in seq if c == "staff"] == ["unit_assigned", "unit_reopened"]
    rows = messages(conn, cid)
    postponed = next(r for r in rows if r["template"] == "case_postponed" and r["channel"] == "sms")
    assert "2031-03-20 17:30" in postponed["body"] and "等待业主配合" in postponed["body"]
    resolved = next(r for r in rows if r["template"] == "case_resolved" and r["channel"] == "email")
    assert "已拆除" in resolved["body"] and "/optout" in resolved["body"]
    reopened = next(r for r in rows if r["template"] == "unit_reopened")
    assert "群众反映又搭了" in reopened["body"]


def test_referral_and_joint_tell_the_new_units_and_the_resident(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any]
) -> None:
    d, urban = world["dispatcher"], world["urban"]
    cid = case["id"]
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch")
    act(conn, urban, cid, "refer", to_party="public_security", note="涉及治安")
    act(conn, d, cid, "joint", parties=["urban_management", "public_security"])
    rows = messages(conn, cid)
    referred = [r for r in rows if r["template"] == "unit_referred"]
    assert [r["recipient"] for r in referred] == ["public_security/PS1"]
    assert "涉及治安" in referred[0]["body"]
    sms = [r["template"] for r in rows if r["channel"] == "sms"]
    assert sms == ["case_accepted", "case_referred", "case_joint"]
    joint = sorted(r["recipient"] for r in rows if r["template"] == "unit_joint")
    assert joint == ["public_security/", "urban_management/"] and all(
        r["urgent"] for r in rows if r["template"] == "unit_joint"
    )


def test_deadline_reminders_enqueue_notices_to_the_handler(
    conn: Connection, case: dict[str, Any]
) -> None:
    sent = reminders.send_reminders(conn, now=datetime.now(UTC) + timedelta(days=400))
    assert sent and all(s["overdue"] for s in sent)
    notices = [r for r in messages(conn, case["id"]) if r["template"] == "deadline_passed"]
    assert len(notices) == len(sent)
    assert all("已超时" in r["body"] and r["recipient"].startswith("urban_management/")
               for r in notices)  # fmt: skip
    assert reminders.send_reminders(conn, now=datetime.now(UTC) + timedelta(days=400)) == []


def test_sender_delivers_due_messages_once(
    conn: Connection, dispatched: dict[str, Any], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    done = deliver_due(conn, transports=sinks(sink), settings=quiet_off(), now=MORNING)
    assert done["sent"] == 3
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    by_channel = {m["channel"]: m for m in lines}
    assert by_channel["sms"]["to"] == PHONE and by_channel["email"]["to"] == EMAIL
    assert {r["state"] for r in messages(conn, dispatched["id"])} == {"sent"}
    assert deliver_due(conn, transports=sinks(sink), settings=quiet_off(), now=MORNING)["sent"] == 0
    assert len(sink.read_text().splitlines()) == 3


def test_quiet_hours_hold_residents_sms_only(
    conn: Connection, dispatched: dict[str, Any], tmp_path: Path
) -> None:
    night = (MORNING + timedelta(days=1)).replace(hour=23, minute=30)
    s = Settings(notify_quiet_hours="22:00-08:00")
    done = deliver_due(conn, transports=sinks(tmp_path / "s.jsonl"), settings=s, now=night)
    assert done["sent"] == 2 and done["deferred"] == 1  # e-mail and the unit's notice go
    sms = next(r for r in messages(conn, dispatched["id"]) if r["channel"] == "sms")
    assert sms["state"] == "pending"
    assert sms["next_attempt_at"] == (night + timedelta(days=1)).replace(hour=8, minute=0)
    early = night.replace(hour=7, minute=59) + timedelta(days=1)
    assert deliver_due(conn, transports=sinks(tmp_path / "s.jsonl"), settings=s, now=early) == {
        "sent": 0, "retry": 0, "dead": 0, "deferred": 0, "suppressed": 0
    }  # fmt: skip
    eight = early + timedelta(minutes=1)
    assert (
        deliver_due(conn, transports=sinks(tmp_path / "s.jsonl"), settings=s, now=eight)["sent"]
        == 1
    )


def test_an_emergency_case_is_not_held_by_quiet_hours(
    conn: Connection, world: dict[str, Principal], tmp_path: Path
) -> None:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    report = Report(lon=IN_P111[0], lat=IN_P111[1], type=code, phone=PHONE, channel="phone",
                    urgency="emergency")  # fmt: skip
    filed = create_case(conn, report=report, actor=world["dispatcher"])
    night = (MORNING + timedelta(days=1)).replace(hour=23, minute=30)
    s = Settings(notify_quiet_hours="22:00-08:00")
    done = deliver_due(conn, transports=sinks(tmp_path / "s.jsonl"), settings=s, now=night)
    assert done["sent"] == 1 and done["deferred"] == 0
    assert [r["urgent"] for r in messages(conn, filed.id)] == [True]


def test_rate_cap_defers_the_next_message_to_one_address(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any], tmp_path: Path
) -> None:
    act(conn, world["dispatcher"], case["id"], "reject", note="不属于受理范围")
    s = quiet_off(notify_rate_per_hour=1)
    done = deliver_due(conn, transports=sinks(tmp_path / "s.jsonl"), settings=s, now=MORNING)
    assert done["sent"] == 2 and done["deferred"] == 2  # one per address, then wait
    held = [r for r in messages(conn, case["id"]) if r["state"] == "pending"]
    assert sorted(r["template"] for r in held) == ["case_rejected", "case_rejected"]
    first = {r["channel"]: r["sent_at"] for r in messages(conn, case["id"]) if r["sent_at"]}
    for r in held:
        assert r["next_attempt_at"] == first[r["channel"]] + timedelta(hours=1)


def test_failures_back_off_then_dead_letter_then_retry(
    conn: Connection, dispatched: dict[str, Any]
) -> None:
    state = {"status": 503}
    keys: list[str] = []

    def answer(got: Received) -> tuple[int, dict[str, Any]]:
        keys.append(got.headers["idempotency-key"])
        return state["status"], {}

    s = quiet_off(notify_max_attempts=3, notify_backoff_s=5)
    with http_server(answer) as server:
        hook = Webhook(server.url, "k")
        transports: dict[str, Transport] = {"sms": hook, "email": hook, "staff": hook}
        now = MORNING
        assert deliver_due(conn, transports=transports, settings=s, now=now)["retry"] == 3
        row = messages(conn, dispatched["id"])[0]
        wait = (row["next_attempt_at"] - now).total_seconds()
        assert row["attempts"] == 1 and 5 <= wait <= 5.5  # 5 s, +0-10 % jitter
        assert "503" in row["last_error"] and PHONE not in row["last_error"]
        now += timedelta(seconds=6)
        assert deliver_due(conn, transports=transports, settings=s, now=now)["retry"] == 3
        row = messages(conn, dispatched["id"])[0]
        assert 10 <= (row["next_attempt_at"] - now).total_seconds() <= 11  # doubled
        now += timedelta(seconds=12)
        assert deliver_due(conn, transports=transports, settings=s, now=now)["dead"] == 3
        assert {r["state"] for r in messages(conn, dispatched["id"])} == {"dead"}
        assert len(notify.status(conn)["dead"]) >= 3
        assert notify.retry(conn, ids=[r["id"] for r in messages(conn, dispatched["id"])]) == 3
        state["status"] = 200
        assert deliver_due(conn, transports=transports, settings=s, now=now)["sent"] == 3
    # every try of a message carried the same key: the receiver can drop repeats
    assert len(keys) == 12 and len(set(keys)) == 3


def test_opt_out_suppresses_pending_and_future_messages(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any], tmp_path: Path
) -> None:
    assert notify.opt_out(conn, tracking_code=case["tracking_code"].lower()) == 2
    act(conn, world["dispatcher"], case["id"], "accept")
    act(conn, world["dispatcher"], case["id"], "dispatch")
    act(conn, world["dispatcher"], case["id"], "postpone", note="待协调",
        due_at="2031-01-01T12:00:00+08:00")  # fmt: skip
    states = {(r["audience"], r["template"], r["state"]) for r in messages(conn, case["id"])}
    assert states == {
        ("resident", "case_accepted", "suppressed"),
        ("resident", "case_postponed", "suppressed"),
        ("staff", "unit_assigned", "pending"),
    }
    sink = tmp_path / "s.jsonl"
    assert deliver_due(conn, transports=sinks(sink), settings=quiet_off(), now=MORNING)["sent"] == 1


@pytest.fixture
def client(conn: Connection) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def test_staff_see_a_cases_messages_masked(
    conn: Connection, world: dict[str, Principal], dispatched: dict[str, Any], client: TestClient
) -> None:
    case = dispatched
    token, _ = issue_token(conn, principal=world["dispatcher"])
    r = client.get(
        f"/api/v1/cases/{case['id']}/messages", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    shown = {m["channel"]: m["recipient"] for m in r.json()}
    assert shown["sms"] == "138****0000" and shown["email"] == "z***@example.com"
    handler = conn.execute(
        text("SELECT handler_name FROM case_file WHERE id = :c"), {"c": case["id"]}
    ).scalar_one()
    assert shown["staff"] == handler == "区城管局"  # agencies.yaml names the unit
    assert PHONE not in r.text and EMAIL not in r.text and "pii1:" not in r.text
    other, _ = issue_token(conn, principal=world["police_ps2"])
    hidden = client.get(
        f"/api/v1/cases/{case['id']}/messages", headers={"Authorization": f"Bearer {other}"}
    )
    assert hidden.status_code == 404 and hidden.json()["code"] == "case_not_found"
    client.cookies.set("shudi_session", token)
    html = client.get(f"/cases/{case['id']}")
    client.cookies.clear()
    assert html.status_code == 200 and 'data-testid="messages"' in html.text
    section = html.text.split('data-testid="messages"', 1)[1].split("</section>", 1)[0]
    assert "138****0000" in section and "短信" in section and PHONE not in section
    page = client.post(f"/track/{case['tracking_code']}/optout")
    assert page.status_code == 200 and "已退订" in page.text
    assert {r["state"] for r in messages(conn, case["id"]) if r["audience"] == "resident"} == {
        "suppressed"
    }


def test_a_report_with_a_bad_email_is_refused(client: TestClient, conn: Connection,
                                               world: dict[str, Principal]) -> None:  # fmt: skip
    code = type_of(conn, agency="urban_management", scope="enforcement")
    body = {"lon": IN_P111[0], "lat": IN_P111[1], "type": code, "email": "not-an-address"}
    r = client.post("/api/v1/reports", json=body, headers={"Idempotency-Key": "k-bad-email"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_report"
    assert "e-mail" in r.json()["message"]


def test_anonymising_erases_the_outbox_addresses(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any]
) -> None:
    act(conn, world["dispatcher"], case["id"], "reject", note="重复")
    later = datetime.now(UTC) + timedelta(days=400)
    assert privacy.anonymise(conn, days=365, now=later) == 1
    rows = [r for r in messages(conn, case["id"]) if r["audience"] == "resident"]
    assert rows and all(r["recipient"] == "" and r["state"] == "suppressed" for r in rows)


def test_key_rotation_reseals_the_outbox_addresses(conn: Connection, case: dict[str, Any]) -> None:
    from shudi.pii import Cipher, get_cipher, new_key_line, parse_keys

    old = get_cipher()
    rotated = Cipher(tuple(parse_keys(new_key_line())) + old.keys)
    expand_due(conn)  # the report's messages, written by the sender
    assert privacy.reseal(conn, cipher=rotated) >= 3  # the reporter row and two messages
    for row in (r for r in messages(conn, case["id"]) if r["audience"] == "resident"):
        assert rotated.is_current(row["recipient"])
        assert rotated.open(row["recipient"], column="notify_recipient") in (PHONE, EMAIL)


def test_the_outbox_status_is_for_admins_and_dispatchers(
    conn: Connection, world: dict[str, Principal], case: dict[str, Any], client: TestClient
) -> None:
    def get(who: str) -> Any:
        token, _ = issue_token(conn, principal=world[who])
        return client.get("/api/v1/notify/status", headers={"Authorization": f"Bearer {token}"})

    expand_due(conn)  # the report's messages, written by the sender
    ok = get("admin")
    assert ok.status_code == 200 and {"counts", "oldest_pending_s", "dead"} <= ok.json().keys()
    pending = {(c["state"], c["channel"]): c["n"] for c in ok.json()["counts"]}
    assert pending[("pending", "sms")] >= 1 and pending[("pending", "email")] >= 1
    assert get("police_ps1").status_code == 403


def test_a_message_that_cannot_fit_never_stops_the_report(
    conn: Connection, world: dict[str, Principal], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shudi.settings import get_settings

    monkeypatch.setenv("SHUDI_NOTIFY_SMS_MAX_SEGMENTS", "1")  # the link alone needs more
    get_settings.cache_clear()
    try:
        code = type_of(conn, agency="urban_management", scope="enforcement")
        filed = file_report(conn, IN_P111, code)
        expand_due(conn)  # the sender renders the report's messages under this setting
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    (sms,) = messages(conn, filed["id"])
    assert sms["state"] == "dead" and "cannot fit 1 part" in sms["last_error"]
    assert filed["status"] == "reported"
