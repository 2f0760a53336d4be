"""Cases over real HTTP: a uvicorn server on 127.0.0.1 and a database of its own, so that
commits, idempotency under concurrent retries and ETags are exercised for real."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from support import live_server, load_mini

from accounts.service import create_user
from jurisdictions import catalog

SHUDI = str(Path(sys.executable).with_name("shudi"))
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    scratch = request.getfixturevalue("module_scratch_db_url")
    eng = create_engine(scratch)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        create_user(
            conn, username="cw", password=PASSWORD, role="community_worker", community_code="C21"
        )
    eng.dispose()
    with live_server(scratch) as base:
        yield base, scratch


def login(base: str, user: str = "disp") -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def a_type(base: str) -> str:
    types = httpx.get(
        f"{base}/api/v1/violation-types", params={"agency": "urban_management", "reportable": True}
    ).json()
    return str(types[0]["code"])


def report(base: str, key: str | None, **over: object) -> httpx.Response:
    body = {
        "lon": 120.002,
        "lat": 30.002,
        "type": a_type(base),
        "description": "楼顶加建",
        "phone": "13912345678",
        "contact_name": "李四",
    } | over
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(f"{base}/api/v1/reports", json=body, headers=headers, timeout=30)


def test_auth(server: tuple[str, str]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/api/v1/cases").json()["code"] == "not_authenticated"
    bad = httpx.post(f"{base}/api/v1/auth/token", data={"username": "disp", "password": "x"})
    assert bad.status_code == 401 and bad.json()["code"] == "not_authenticated"
    me = httpx.get(f"{base}/api/v1/auth/me", headers=login(base)).json()
    assert me["role"] == "dispatcher"
    page = httpx.post(
        f"{base}/login", data={"username": "disp", "password": PASSWORD, "next": "/api/v1/auth/me"}
    )
    cookie = page.headers["set-cookie"].lower()
    assert page.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
    with httpx.Client(base_url=base, cookies=page.cookies) as browser:
        assert browser.get("/api/v1/auth/me").json()["username"] == "disp"


def test_idempotency(server: tuple[str, str]) -> None:
    base, _ = server
    missing = report(base, None)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"
    first = report(base, "key-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["routing"]["handler"]["party"] == "urban_management" and body["due_at"]
    again = report(base, "key-1")
    assert again.status_code == 201 and again.json() == body
    other = report(base, "key-1", description="另一件事")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_concurrent_retries_make_one_case(server: tuple[str, str]) -> None:
    base, url = server
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: report(base, "key-burst"), range(16)))
    assert {r.status_code for r in answers} <= {201, 409}
    ids = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(ids) == 1
    eng = create_engine(url)
    with eng.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM case_file WHERE id = :i"), {"i": ids.pop()}
        ).scalar_one()
        keys = conn.execute(text("SELECT count(*) FROM idempotency_key WHERE key = 'key-burst'"))
        assert n == 1 and keys.scalar_one() == 1
    eng.dispose()


def test_one_etag_one_winner(server: tuple[str, str]) -> None:
    base, _ = server
    cid = report(base, "key-etag").json()["id"]
    auth = login(base)
    got = httpx.get(f"{base}/api/v1/cases/{cid}", headers=auth)
    etag = got.headers["etag"]
    assert etag == '"1"'

    def accept(_: int) -> int:
        return httpx.post(
            f"{base}/api/v1/cases/{cid}/transitions",
            json={"action": "comment", "note": "并发"},
            headers=auth | {"If-Match": etag},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(accept, range(20)))
    assert codes == [200] + [412] * 19
    no_match = httpx.post(
        f"{base}/api/v1/cases/{cid}/transitions", json={"action": "accept"}, headers=auth
    )
    assert no_match.status_code == 428 and no_match.json()["code"] == "precondition_required"
    wrong = httpx.post(
        f"{base}/api/v1/cases/{cid}/transitions",
        json={"action": "verify", "outcome": "fixed"},
        headers=auth | {"If-Match": '"2"'},
    )
    assert wrong.status_code == 409 and "accept" in wrong.json()["allowed"]


def test_photo_is_served_without_location(server: tuple[str, str]) -> None:
    base, _ = server
    img = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x0110] = "PhoneModel"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (30.0, 0.0, 7.2), 3: "E", 4: (120.0, 0.0, 7.2)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    assert b"Exif" in buf.getvalue()
    r = httpx.post(
        f"{base}/api/v1/reports",
        headers={"Idempotency-Key": "key-photo"},
        data={"lon": "120.002", "lat": "30.002", "type": a_type(base)},
        files=[("photos", ("p.jpg", buf.getvalue(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    cid, auth = r.json()["id"], login(base)
    listed = httpx.get(f"{base}/api/v1/cases/{cid}/photos", headers=auth).json()
    content = httpx.get(f"{base}/api/v1/cases/{cid}/photos/{listed[0]['id']}", headers=auth).content
    assert b"Exif" not in content and b"PhoneModel" not in content
    assert Image.open(io.BytesIO(content)).size == (64, 48)
    junk = httpx.post(
        f"{base}/api/v1/reports",
        headers={"Idempotency-Key": "key-junk"},
        data={"lon": "120.002", "lat": "30.002", "type": a_type(base)},
        files=[("photos", ("x.jpg", b"not an image", "image/jpeg"))],
    )
    assert junk.status_code == 422 and junk.json()["photo_error"] == "not_an_image"


def test_tracking_shows_no_personal_data(server: tuple[str, str]) -> None:
    base, _ = server
    code = report(base, "key-track").json()["tracking_code"]
    tracked = httpx.get(f"{base}/api/v1/track/{code}")
    assert tracked.status_code == 200 and tracked.json()["status"] == "reported"
    assert "13912345678" not in tracked.text and "李四" not in tracked.text
    body = tracked.json()  # what was reported and where, for the tracking page
    assert body["description"] == "楼顶加建" and body["photo_ids"] == []
    assert (body["lon"], body["lat"]) == (120.002, 30.002)
    assert (body["town_name"], body["community_name"]) == ("甲街道", "甲一社区")
    assert body["property_area_name"] == "金桂苑"
    photo = httpx.get(f"{base}/api/v1/track/{code}/photos/1")
    assert photo.status_code == 404 and photo.json()["code"] == "case_not_found"
    assert httpx.get(f"{base}/api/v1/track/NOPE").status_code == 404
    foreign = login(base, "cw")  # a community worker of C21 cannot see a C11 case
    cases = httpx.get(f"{base}/api/v1/cases", headers=foreign).json()
    assert cases["total"] == 0
    outside = report(base, "key-out", lon=121.5, lat=31.2)
    assert outside.status_code == 422 and outside.json()["code"] == "outside_service_area"
