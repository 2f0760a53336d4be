"""A resident cannot be used to spam someone else: a follow by phone or e-mail is used only
once confirmed with the code (or link) sent there, five wrong codes end the request, and
follow requests are limited per client, per address and per case or area, refused with 429
JSON (``follow_rate_limited``, a Chinese message, Retry-After)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Connection, text
from support import IN_P112, app_client, file_report, type_of

from accounts.service import Principal
from notify import follow
from notify import service as notify_service
from notify.events import expand_due
from notify.exceptions import FollowNotFound, FollowRateLimited
from shudi.settings import Settings

VICTIM = "13955556666"
VICTIM_MASKED = "139****6666"


def sent_to(conn: Connection, masked: str, template: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("""SELECT * FROM notify_message WHERE recipient_masked = :m AND template = :t
                ORDER BY id"""),
        {"m": masked, "t": template},
    )
    return [dict(r) for r in rows.mappings()]


def code_in(body: str) -> str:
    m = re.search(r"验证码(\d{6})", body) or re.search(r"验证码：(\d{6})", body)
    assert m, body
    return m.group(1)


def test_an_unconfirmed_follow_gets_nothing_but_its_confirmation(
    conn: Connection, world: dict[str, Principal]
) -> None:
    told = follow.follow_area(conn, layer="community", code="C11", contact=VICTIM)
    assert told["status"] == "pending" and told["recipient"] == VICTIM_MASKED
    code = type_of(conn, agency="urban_management", scope="enforcement")
    file_report(conn, IN_P112, code)  # a new case in C11
    expand_due(conn)  # its messages, written by the sender from the report's event
    assert sent_to(conn, VICTIM_MASKED, "follow_update") == []  # not confirmed: nothing
    asked = sent_to(conn, VICTIM_MASKED, "follow_confirm")
    assert len(asked) == 1 and asked[0]["case_id"] is None  # on no case page
    sms = asked[0]["body"]
    assert sms.startswith("【属地】") and "非本人操作请忽略" in sms and len(sms) <= 3 * 67
    assert f"/follow/confirm/{told['confirm_ref']}?code=" in sms and VICTIM not in sms
    assert asked[0]["urgent"]  # the person waits for it: not held by quiet hours

    # five wrong codes end the request; the right one after that is refused
    right = code_in(sms)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1, 0):
        out = follow.confirm(conn, ref=told["confirm_ref"], code=wrong)
        assert out == {"confirmed": False, "tries_left": left, "reason": out["reason"]}
    with pytest.raises(FollowNotFound):
        follow.confirm(conn, ref=told["confirm_ref"], code=right)
    file_report(conn, IN_P112, code)
    expand_due(conn)
    assert sent_to(conn, VICTIM_MASKED, "follow_update") == []

    # asked again, confirmed with the new code: updates flow
    again = follow.follow_area(conn, layer="community", code="C11", contact=VICTIM)
    body = sent_to(conn, VICTIM_MASKED, "follow_confirm")[-1]["body"]
    done = follow.confirm(conn, ref=again["confirm_ref"], code=code_in(body))
    assert done["confirmed"] and done["area"]["feed"] == "/feeds/areas/community/C11.atom"
    with pytest.raises(FollowNotFound):  # a ref is used once
        follow.confirm(conn, ref=again["confirm_ref"], code=code_in(body))
    file_report(conn, IN_P112, code)
    expand_due(conn)
    assert len(sent_to(conn, VICTIM_MASKED, "follow_update")) == 1


def test_the_confirmation_api_and_pages(conn: Connection, world: dict[str, Principal]) -> None:
    with app_client(conn) as client:
        r = client.post("/api/v1/follows", json={"area_layer": "community", "area_code": "C11",
                                                 "contact": VICTIM})  # fmt: skip
        assert r.status_code == 202, r.text
        ref = r.json()["confirm_ref"]
        bad = client.post("/api/v1/follows/confirm", json={"ref": ref, "code": "000000x"})
        assert bad.status_code == 422 and bad.json()["code"] == "follow_confirmation_invalid"
        assert bad.json()["tries_left"] == 4 and "验证码不正确" in bad.json()["message"]
        body = sent_to(conn, VICTIM_MASKED, "follow_confirm")[-1]["body"]
        page = client.get(f"/follow/confirm/{ref}", params={"code": code_in(body)})
        assert page.status_code == 200 and code_in(body) in page.text  # a GET confirms nothing
        assert (
            conn.execute(
                text("SELECT confirmed_at FROM notify_follow WHERE confirm_ref = :r"), {"r": ref}
            ).scalar()
            is None
        )
        ok = client.post(f"/follow/confirm/{ref}", data={"code": code_in(body)})
        assert ok.status_code == 200 and "已关注" in ok.text
        assert "/feeds/areas/community/C11.atom" in ok.text and VICTIM not in ok.text
        gone = client.post("/api/v1/follows/confirm", json={"ref": ref, "code": code_in(body)})
        assert gone.status_code == 404 and gone.json()["code"] == "follow_not_found"


def test_one_address_gets_at_most_three_confirmations_a_day(
    conn: Connection, world: dict[str, Principal]
) -> None:
    with app_client(conn) as client:
        for area in ("C11", "C12", "C22"):
            body = {"area_layer": "community", "area_code": area, "contact": VICTIM}
            r = client.post("/api/v1/follows", json=body)
            assert r.status_code == 202, r.text
        r = client.post("/api/v1/follows", json={"area_layer": "town", "area_code": "T1",
                                                 "contact": VICTIM})  # fmt: skip
        assert r.status_code == 429
        err = r.json()
        assert err["code"] == "follow_rate_limited" and err["limits"] == ["contact"]
        assert "该手机号码或邮箱的关注申请过于频繁" in err["message"]
        assert int(r.headers["Retry-After"]) == err["retry_after_s"]
        page = client.post("/track/NOSUCH/follow", data={"contact": VICTIM})
        assert page.status_code in (404, 422, 429)
    assert len(sent_to(conn, VICTIM_MASKED, "follow_confirm")) == 3


def test_one_client_and_one_case_or_area_are_limited_too(
    conn: Connection, world: dict[str, Principal]
) -> None:
    with app_client(conn) as client:  # default: 10 requests an hour from one address
        codes = [
            client.post("/api/v1/follows", json={"area_layer": "community", "area_code": "C11",
                                                 "contact": f"fan{i}@example.org"}).status_code
            for i in range(11)
        ]  # fmt: skip
        assert codes == [202] * 10 + [429]
    s = Settings(notify_follow_limit_target="2/1h", notify_follow_limit_ip="off")
    for i in range(2):
        follow.follow_area(conn, layer="town", code="T2", contact=f"x{i}@example.org", s=s)
    with pytest.raises(FollowRateLimited) as exc:
        follow.follow_area(conn, layer="town", code="T2", contact="x9@example.org", s=s)
    assert exc.value.details["limits"] == ["target"] and "该案件或区域" in exc.value.message


def test_purging_the_outbox_forgets_ended_rate_limit_windows(
    conn: Connection, world: dict[str, Principal]
) -> None:
    """The counters are keyed by window: a window that ended days ago can never refuse anyone
    again, so the outbox purge (``shudi notify purge``) drops it and keeps today's."""
    follow.follow_area(conn, layer="town", code="T2", contact="old@example.org")
    conn.execute(
        text("""INSERT INTO notify_follow_counter (key, window_start, count)
                         VALUES ('follow:ip:3600:gone', now() - interval '3 days', 4)""")
    )
    count = (
        "SELECT count(*) FROM notify_follow_counter WHERE window_start {} now() - interval '2 days'"
    )
    assert conn.execute(text(count.format("<"))).scalar() == 1
    today = conn.execute(text(count.format(">="))).scalar()
    assert today and today >= 2  # this request's contact and target windows at least
    notify_service.purge(conn, days=90)
    assert conn.execute(text(count.format("<"))).scalar() == 0
    assert conn.execute(text(count.format(">="))).scalar() == today
