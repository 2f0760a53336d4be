"""Followers ("me too") and area feeds on a real PostGIS: a follower of a case or an area is told
exactly that case's or area's public updates (delivered to a real SMTP server), stops with the
link, and an area's Atom feed lists exactly its public cases without personal data."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Connection, text
from support import IN_P111, IN_P112, IN_T2, app_client, file_report, type_of

from accounts.service import Principal
from incidents import service
from incidents.area_feed import area_atom
from notify import follow
from notify.channels import FileSink, Smtp
from notify.events import expand_due
from notify.exceptions import FollowError, FollowNotFound
from notify.sender import deliver_due
from shudi.settings import Settings

BJ = timezone(timedelta(hours=8))
MORNING = datetime.now(BJ).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
FAN = "owner.committee@example.org"
FAN_PHONE = "13911112222"
ATOM = "{http://www.w3.org/2005/Atom}"


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def follower_rows(conn: Connection, contact_masked: str) -> list[dict[str, Any]]:
    expand_due(conn)  # a report's messages are written by the sender from its event
    rows = conn.execute(
        text("""SELECT * FROM notify_message WHERE template = 'follow_update'
                AND recipient_masked = :m ORDER BY id"""),
        {"m": contact_masked},
    )
    return [dict(r) for r in rows.mappings()]


def confirmed(conn: Connection, told: dict[str, Any]) -> dict[str, Any]:
    """Confirm a follow request as its owner would: with the code in the message sent."""
    body = conn.execute(
        text("""SELECT body FROM notify_message WHERE template = 'follow_confirm'
                AND recipient_masked = :m ORDER BY id DESC LIMIT 1"""),
        {"m": told["recipient"]},
    ).scalar_one()
    code = re.search(r"验证码：?(\d{6})", body)
    assert code, body
    return follow.confirm(conn, ref=told["confirm_ref"], code=code.group(1))


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_cases(conn: Connection, world: dict[str, Principal]) -> tuple[dict, dict]:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    a = file_report(conn, IN_P111, code)  # T1 / C11 / P111
    b = file_report(conn, IN_T2, code)  # T2 / C22
    for c in (a, b):
        act(conn, world["dispatcher"], c["id"], "accept")
        act(conn, world["dispatcher"], c["id"], "dispatch")
    return a, b


def test_a_case_follower_gets_that_case_s_updates_by_email_and_none_of_another(
    conn: Connection, world: dict[str, Principal], two_cases: tuple[dict, dict], tmp_path: Path
) -> None:
    a, b = two_cases
    told = follow.follow_case(conn, tracking_code=a["tracking_code"].lower(), contact=FAN)
    assert {k: told[k] for k in ("channel", "recipient", "case", "status")} == {
        "channel": "email", "recipient": "o***@example.org", "case": a["tracking_code"],
        "status": "pending"}  # fmt: skip
    assert confirmed(conn, told)["confirmed"]
    again = follow.follow_case(conn, tracking_code=a["tracking_code"], contact=FAN)
    assert confirmed(conn, again)["confirmed"]  # twice is once
    d, urban = world["dispatcher"], world["urban"]
    for c in (a, b):
        act(conn, d, c["id"], "postpone", note="等待业主配合", due_at="2031-03-20T17:30:00+08:00")
        act(conn, urban, c["id"], "resume")
        act(conn, urban, c["id"], "resolve", note="已拆除")
    rows = follower_rows(conn, "o***@example.org")
    assert [(r["case_id"], r["channel"]) for r in rows] == [(a["id"], "email")] * 2
    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        smtp = Smtp(f"smtp://127.0.0.1:{port}", "shudi@district.example")
        sink = FileSink(tmp_path / "sink.jsonl")
        deliver_due(conn, transports={"email": smtp, "sms": sink, "staff": sink},
                    settings=Settings(notify_quiet_hours="off"), now=MORNING)  # fmt: skip
    finally:
        ctl.stop()
    mine = [raw for to, raw in inbox.mails if to == [FAN]]
    mails = [message_from_bytes(raw, policy=policy.default) for raw in mine]
    bodies = [m.get_body(("plain",)).get_content() for m in mails]  # type: ignore[union-attr]
    asked = [b for b in bodies if "验证码" in b]  # the two confirmation requests
    bodies = [b for b in bodies if "验证码" not in b]
    assert len(asked) == 2 and all("/follow/confirm/" in b for b in asked)
    assert len(bodies) == 2  # (sent at once: in any order)
    assert sorted("延至2031-03-20 17:30" in b for b in bodies) == [False, True]
    assert sorted("已办结" in b for b in bodies) == [False, True]
    for body in bodies:
        assert f"/track/{a['tracking_code']}" in body and b["tracking_code"] not in body
        assert "/follow/" in body and "/stop" in body  # the stop link carries a token
        assert "13800000000" not in body and "张三" not in body and FAN not in body


def test_an_area_follower_hears_of_new_cases_there_only_and_stops_with_the_link(
    conn: Connection, world: dict[str, Principal]
) -> None:
    assert confirmed(conn, follow.follow_area(conn, layer="community", code="C11",
                                              contact=FAN_PHONE))["confirmed"]  # fmt: skip
    code = type_of(conn, agency="urban_management", scope="enforcement")
    inside = file_report(conn, IN_P112, code)  # C11
    outside = file_report(conn, IN_T2, code)  # C22
    rows = follower_rows(conn, "139****2222")
    assert [(r["case_id"], r["channel"]) for r in rows] == [(inside["id"], "sms")]
    sms = rows[0]["body"]
    assert sms.startswith("【属地】") and "有新的反映" in sms
    assert "/feeds/areas/community/C11.atom" in sms  # no tracking code for an area's follower
    assert inside["tracking_code"] not in sms and "13800000000" not in sms
    assert rows[0]["recipient"].startswith("pii1:") and FAN_PHONE not in str(rows[0]["params"])
    token = conn.execute(text("SELECT token FROM notify_follow WHERE area_code = 'C11'")).scalar()
    assert token and f"/follow/{token}/stop" in sms
    follow.unfollow(conn, token=token)
    assert follower_rows(conn, "139****2222")[0]["state"] == "suppressed"  # unsent: not sent
    act(conn, world["dispatcher"], inside["id"], "reject", note="重复", public_reply="重复反映")
    file_report(conn, IN_P111, code)  # C11 again
    assert len(follower_rows(conn, "139****2222")) == 1  # nothing new after the stop
    with pytest.raises(FollowNotFound):
        follow.unfollow(conn, token=token)
    assert outside["id"] not in {r["case_id"] for r in follower_rows(conn, "139****2222")}


def test_follow_input_errors(conn: Connection, world: dict[str, Principal]) -> None:
    with pytest.raises(FollowError):
        follow.follow_area(conn, layer="community", code="NOPE", contact=FAN)
    with pytest.raises(FollowError):
        follow.follow_area(conn, layer="county", code="C11", contact=FAN)
    with pytest.raises(FollowError):
        follow.follow_area(conn, layer="community", code="C11", contact="12345")
    with pytest.raises(FollowNotFound):
        follow.follow_case(conn, tracking_code="NOSUCHCODE", contact=FAN)
    with app_client(conn) as client:
        r = client.post("/api/v1/follows", json={"area_layer": "town", "contact": FAN})
        assert r.status_code == 422 and r.json()["code"] == "invalid_follow"
        r = client.post(
            "/api/v1/follows", json={"area_layer": "town", "area_code": "T1", "contact": FAN}
        )
        assert r.status_code == 202 and r.json()["recipient"] == "o***@example.org"
        assert client.post("/api/v1/follows/nope/stop").json()["code"] == "follow_not_found"


def _sensitive_type(conn: Connection) -> str:
    return str(
        conn.execute(
            text("SELECT code FROM violation_type WHERE sensitive AND active ORDER BY code LIMIT 1")
        ).scalar_one()
    )


def test_the_area_feed_lists_exactly_its_public_cases_without_personal_data(
    conn: Connection, world: dict[str, Principal]
) -> None:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    c1 = file_report(conn, IN_P111, code)  # C11
    c2 = file_report(conn, IN_P112, code)  # C11
    file_report(conn, IN_T2, code)  # C22: not in C11's feed
    file_report(conn, IN_P111, _sensitive_type(conn))  # C11 but sensitive: in no feed
    hidden = file_report(conn, IN_P112, code)
    act(conn, world["dispatcher"], hidden["id"], "hide", note="涉及隐私")
    act(conn, world["dispatcher"], c2["id"], "reject", note="内部说明",
        public_reply="请联系13812345678咨询")  # fmt: skip
    xml = area_atom(conn, layer="community", code="C11", base_url="https://shudi.example")
    feed = ET.fromstring(xml)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    entries = feed.findall(f"{ATOM}entry")
    ids = sorted(e.findtext(f"{ATOM}id") for e in entries)
    assert ids == sorted(f"tag:shudi.example,2026:case/{c['id']}" for c in (c1, c2))
    for e in entries:
        for required in ("id", "title", "updated"):
            assert e.findtext(f"{ATOM}{required}"), required
        datetime.fromisoformat(e.findtext(f"{ATOM}updated").replace("Z", "+00:00"))
        lat, lon = map(float, e.findtext("{http://www.georss.org/georss}point").split())
        assert (round(lat, 3), round(lon, 3)) == (lat, lon)  # the ~100 m public grid
        assert abs(lat - 30.0) < 0.02 and abs(lon - 120.0) < 0.01
    rejected = next(e for e in entries if e.findtext(f"{ATOM}id").endswith(f"/{c2['id']}"))
    content = rejected.findtext(f"{ATOM}content")
    assert "不予受理" in rejected.findtext(f"{ATOM}title") and "请联系[电话已隐去]咨询" in content
    raw = xml.decode()
    assert "13800000000" not in raw and "张三" not in raw and "13812345678" not in raw
    assert "内部说明" not in raw and c1["tracking_code"] not in raw
    with app_client(conn) as client:
        r = client.get("/feeds/areas/community/C11.atom")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom")
        assert len(ET.fromstring(r.content).findall(f"{ATOM}entry")) == 2
        assert client.get("/feeds/areas/community/NOPE.atom").json()["code"] == "area_not_found"
        assert client.get("/feeds/areas/county/C11.atom").status_code == 404


def test_a_closed_case_s_followers_are_forgotten_with_its_reporters_data(
    conn: Connection, world: dict[str, Principal]
) -> None:
    from notify import service as notify

    code = type_of(conn, agency="urban_management", scope="enforcement")
    case = file_report(conn, IN_P111, code)
    follow.follow_case(conn, tracking_code=case["tracking_code"], contact=FAN)
    follow.follow_area(conn, layer="community", code="C11", contact=FAN)
    conn.execute(
        text("""UPDATE case_file SET status = 'closed', closed_at = now() - interval '400 days'
                WHERE id = :i"""),
        {"i": case["id"]},
    )
    notify.forget_recipients(conn, closed_before=datetime.now(BJ) - timedelta(days=365))
    left = conn.execute(text("SELECT case_id, area_code FROM notify_follow")).all()
    assert [(r.case_id, r.area_code) for r in left] == [(None, "C11")]  # the area's stays


def test_the_me_too_and_stop_pages(conn: Connection, world: dict[str, Principal]) -> None:
    code = type_of(conn, agency="urban_management", scope="enforcement")
    case = file_report(conn, IN_P111, code)
    tc = case["tracking_code"]
    with app_client(conn) as client:
        assert "我也关注" in client.get(f"/track/{tc}/follow").text
        bad = client.post(f"/track/{tc}/follow", data={"contact": "不是号码"})
        assert bad.status_code == 422 and "手机号码或电子邮箱" in bad.text
        ok = client.post(f"/track/{tc}/follow", data={"contact": FAN_PHONE})
        assert ok.status_code == 202 and "139****2222" in ok.text and FAN_PHONE not in ok.text
        token = conn.execute(
            text("SELECT token FROM notify_follow WHERE case_id = :c"), {"c": case["id"]}
        ).scalar_one()
        assert "确认" in client.get(f"/follow/{token}/stop").text  # a GET changes nothing
        assert conn.execute(text("SELECT count(*) FROM notify_follow")).scalar_one() == 1
        assert client.post(f"/follow/{token}/stop").status_code == 200
        assert conn.execute(text("SELECT count(*) FROM notify_follow")).scalar_one() == 0
        assert client.post(f"/follow/{token}/stop").status_code == 404
