"""Issue 19, one test per data-leak finding, each written to fail on the code before its fix.

Expected answers come from the issue's text and hand-worked values (a phone number planted in a
staff note, a point placed 40 m off the public 0.001° grid), never from the code under test.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, app_client, file_report, type_of

from abuse import service as abuse
from accounts.service import Principal, issue_token
from incidents import disclosure, open311, open311_requests, service
from incidents.exceptions import TransitionForbidden
from incidents.intake import likely_duplicates
from incidents.photos import PhotoPolicy, PhotoRejected, sanitize_photos

STAFF_PHONE = "13800138003"  # the probe's example: "已联系举报人张三(13800138003)，住3幢502"
STAFF_NOTE = f"已联系举报人张三({STAFF_PHONE})，住3幢502"
REPORTER_PHONE = "13800000000"  # support.file_report's reporter
REPORTER_NAME = "张三"


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> dict:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    return service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def bearer(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


# --- HIGH: Open311 publishes staff notes -------------------------------------------------------


def test_open311_answers_public_replies_never_staff_notes(conn: Connection, world: dict) -> None:
    cid = file_report(conn, IN_T2, type_of(conn, agency="urban_management"))["id"]
    d = world["dispatcher"]
    act(conn, d, cid, "accept", note=STAFF_NOTE)
    act(conn, d, cid, "dispatch", note=STAFF_NOTE, public_reply="已派区城管局办理")
    rejected = file_report(conn, IN_T2, type_of(conn, agency="urban_management"))["id"]
    act(
        conn,
        d,
        rejected,
        "reject",
        note=STAFF_NOTE,
        public_reply=f"不属本机制受理范围，请拨打 {STAFF_PHONE} 咨询",
    )
    params = {"service_request_id": f"{cid},{rejected}", "extensions": "true"}
    answer = open311_requests.list_requests(conn, params=params)
    body = str(answer)
    assert STAFF_PHONE not in body and "住3幢502" not in body and "张三" not in body
    by_id = {a["service_request_id"]: a for a in answer}
    notes = by_id[str(cid)]["extended_attributes"]["notes"]
    assert [n["description"] for n in notes] == ["", "", "已派区城管局办理"]
    assert by_id[str(cid)]["status_notes"] == "已派单至责任单位：已派区城管局办理"
    # the public reply itself quoted a phone number: masked, the rest kept
    assert by_id[str(rejected)]["status_notes"].startswith("不予受理：不属本机制受理范围")
    # the tracking page says the same, and no more
    code = conn.execute(
        text("SELECT tracking_code FROM case_reporter WHERE case_id = :c"), {"c": rejected}
    ).scalar_one()
    tracked = service.track(conn, tracking_code=code)
    assert tracked["rejection_reason"].startswith("不属本机制受理范围，请拨打 ")
    assert STAFF_PHONE not in str(tracked) and "住3幢502" not in str(tracked)


def test_public_reply_only_on_public_actions(conn: Connection, world: dict) -> None:
    cid = file_report(conn, IN_T2, type_of(conn, agency="urban_management"))["id"]
    with pytest.raises(Exception, match="public_reply"):
        act(conn, world["dispatcher"], cid, "comment", note="内部", public_reply="给公众")


def test_sensitive_cases_are_in_no_public_listing(conn: Connection, world: dict) -> None:
    # the text lists 涉毒、涉黄 among the crimes of 七; the probe found them listed with estates
    drugs = file_report(conn, IN_P111, "drugs_vice")["id"]
    plain = file_report(conn, IN_P111, type_of(conn, agency="urban_management"))["id"]
    listed = {r["service_request_id"] for r in open311_requests.list_requests(conn, params={})}
    assert str(plain) in listed and str(drugs) not in listed
    with pytest.raises(open311.NotFound):
        open311_requests.get_request(conn, request_id=str(drugs), params={})
    # nor in the public duplicate check (a resident filing the same would be told "none")
    assert (
        likely_duplicates(conn, lon=IN_P111[0], lat=IN_P111[1], type_code="drugs_vice", public=True)
        == []
    )


# --- HIGH: authenticate first, then limits and bans, then the body -----------------------------


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_fake_token_is_refused_before_any_photo_is_decoded(
    conn: Connection, client: TestClient
) -> None:
    files = [("photos", ("a.jpg", b"not an image at all", "image/jpeg"))]
    data = {"lon": str(IN_P111[0]), "lat": str(IN_P111[1]), "type": "drugs_vice"}
    r = client.post(
        "/api/v1/reports",
        data=data,
        files=files,
        headers={"Authorization": "Bearer x", "Idempotency-Key": "fake-token-1"},
    )
    # before: the photo was decoded first (422 not_an_image), the token checked after
    assert r.status_code == 401, r.text
    # a banned address with a fake token: still refused, and never as a staff request
    abuse.add_ban(conn, kind="ip", value="testclient", reason="probe")
    r = client.post(
        "/api/v1/reports",
        data=data,
        files=files,
        headers={"Idempotency-Key": "banned-1"},
    )
    assert r.status_code == 403 and r.json()["code"] == "banned", r.text


def test_a_valid_staff_token_is_exempt(conn: Connection, world: dict, client: TestClient) -> None:
    abuse.add_ban(conn, kind="ip", value="testclient", reason="probe")
    body = {
        "lon": IN_P111[0],
        "lat": IN_P111[1],
        "type": type_of(conn, agency="urban_management"),
        "channel": "phone",
    }
    headers = bearer(conn, world["dispatcher"]) | {"Idempotency-Key": "staff-1"}
    r = client.post("/api/v1/reports", json=body, headers=headers)
    assert r.status_code == 201, r.text


def test_photo_decoding_is_bounded_per_request() -> None:
    photos = [(f"{i}.png", _png(2000, 2000)) for i in range(3)]  # 4 MP each, 12 MP together
    with pytest.raises(PhotoRejected) as refused:
        sanitize_photos(photos, policy=PhotoPolicy(max_total_pixels=10_000_000))
    assert refused.value.code == "photos_too_many_pixels"
    small = [(f"{i}.png", _png(400, 300)) for i in range(3)]
    with pytest.raises(PhotoRejected) as slow:  # a budget of 0 s: only the first is decoded
        sanitize_photos(small, policy=PhotoPolicy(max_seconds=0.0))
    assert slow.value.code == "photos_too_slow" and slow.value.index == 1
    assert len(sanitize_photos(small)) == 3
    assert PhotoPolicy().max_total_pixels < 6 * 40_000_000  # the probe's 6 × 40 MP is refused


# --- MEDIUM: a URL in user text made the staff case page answer 500 ----------------------------


def test_urls_in_user_text_do_not_break_the_case_page(
    conn: Connection, world: dict, client: TestClient
) -> None:
    url = "https://evil.example.com/x.png"
    cid = file_report(
        conn,
        IN_P111,
        type_of(conn, agency="urban_management"),
        address_text=f"//cdn.example.net/{url}",
    )["id"]
    conn.execute(
        text("UPDATE case_file SET description = :d WHERE id = :i"),
        {"d": f'见图 {url} <img src="{url}">', "i": cid},
    )
    act(conn, world["dispatcher"], cid, "accept", note=f"参考 {url}")
    token, _ = issue_token(conn, principal=world["dispatcher"])
    client.cookies.set("shudi_session", token)
    r = client.get(f"/cases/{cid}")
    assert r.status_code == 200, r.text[:500]
    assert "evil.example.com/x.png" in r.text  # shown as text, escaped
    assert f'<img src="{url}">' not in r.text


# --- MEDIUM: /reports/duplicates gave distances to the metre -----------------------------------


def test_duplicates_reveal_no_more_than_the_public_grid(
    conn: Connection, client: TestClient
) -> None:
    code = type_of(conn, agency="urban_management")
    # 40 m east and 30 m north of the grid point (120.002, 30.002), still in P111
    exact = (120.002 + 40 / 96_300, 30.002 + 30 / 110_900)
    file_report(conn, exact, code)
    params = {"lon": 120.002, "lat": 30.002, "type": code}
    answer = client.get("/api/v1/reports/duplicates", params=params).json()
    # the public map shows the case at (120.002, 30.002): from there, 0 m (before: 50 m)
    assert [a["distance_m"] for a in answer] == [0]
    # moving the query a few metres never changes the answer by less than the grid would
    shifted = client.get(
        "/api/v1/reports/duplicates", params=params | {"lon": 120.002 + 3 / 96_300}
    ).json()
    assert [a["distance_m"] for a in shifted] == [0]
    assert all(a["distance_m"] % 10 == 0 for a in answer + shifted)


# --- MEDIUM: the company complained about saw the complainant ----------------------------------


def test_a_handler_sees_the_complainant_only_when_the_dispatcher_says(
    conn: Connection, world: dict, client: TestClient
) -> None:
    cid = file_report(conn, IN_P111, type_of(conn, scope="property_service"))["id"]
    company, d = world["company_jia"], world["dispatcher"]
    seen = service.get_case(conn, case_id=cid, principal=company)
    assert seen["handler_party"] == "property_company"  # the handler from filing
    assert "reporters" not in seen and REPORTER_PHONE not in str(seen)
    page = client.get(
        f"/cases/{cid}", headers={"Cookie": f"shudi_session={bearer_token(conn, company)}"}
    )
    assert page.status_code == 200 and REPORTER_PHONE not in page.text
    assert REPORTER_NAME not in page.text
    with pytest.raises(TransitionForbidden):
        disclosure.set_disclosure(conn, case_id=cid, principal=company, reveal=True, note="我要看")
    r = client.post(
        f"/api/v1/cases/{cid}/reporter-disclosure",
        json={"reveal": True, "note": "举报人同意物业回访"},
        headers=bearer(conn, d),
    )
    assert r.status_code == 200, r.text
    shown = service.get_case(conn, case_id=cid, principal=company)
    assert shown["reporters"][0]["phone"] == REPORTER_PHONE
    events = service.events(conn, case_id=cid, principal=d)
    assert events[-1]["action"] == "reveal_reporter" and not events[-1]["public"]
    assert events[-1]["note"] == "举报人同意物业回访"
    disclosure.set_disclosure(conn, case_id=cid, principal=d, reveal=False, note="撤回")
    assert "reporters" not in service.get_case(conn, case_id=cid, principal=company)
    # a decision names its handler: revealed to the company, then handed to another party
    disclosure.set_disclosure(conn, case_id=cid, principal=d, reveal=True, note="回访")
    act(conn, d, cid, "accept")
    act(conn, d, cid, "dispatch", to_party="housing_service_center")
    moved = service.get_case(conn, case_id=cid, principal=world["housing"])
    assert moved["handler_party"] == "housing_service_center"
    assert "reporters" not in moved and REPORTER_PHONE not in str(moved)


def bearer_token(conn: Connection, who: Principal) -> str:
    token, _ = issue_token(conn, principal=who)
    return token
