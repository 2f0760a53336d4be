"""The hotline (12345) work-order link, played from the platform's side over HTTP.

Expected places are worked out by hand from the mini district (tests/support.py): the true
WGS-84 point (120.012, 30.003) lies in 甲街道 T1, community C12 (x > 120.01), precinct PS1
(x < 120.015). Its GCJ-02 form is (120.016692, 30.000571) — the published GCJ-02 shift near
Hangzhou is about +0.0047° east and -0.0024° north — which, read as WGS-84, would fall in PS2:
so a PS1 handler proves the order's CRS was honoured. 金桂苑 is estate P111 in C11 / T1; "乙"
begins three names (乙镇, 乙一社区, 乙二社区) and equals none.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hotline_platform import callback_server, signed_headers
from sqlalchemy import Connection, text
from support import IN_T2, PASSWORD, app_client

from incidents import hotline_keys, service
from notify.sender import deliver_due, transports_for
from shudi.settings import Settings

PHONE = "13912345678"
GCJ = (120.016692, 30.000571)


@pytest.fixture
def platform(conn: Connection, world: dict) -> dict[str, Any]:
    return hotline_keys.create_platform(conn, name="12345 热线")


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def post(client: TestClient, platform: dict, order: dict, **kw: Any) -> Any:
    body = json.dumps(order, ensure_ascii=False).encode()
    headers = signed_headers(platform["api_key"], platform["secret"], body, **kw)
    return client.post("/api/v1/hotline/orders", content=body, headers=headers)


def order(no: str, **extra: Any) -> dict[str, Any]:
    return {"order_no": no, "content": "有人在此卖淫嫖娼，请查处", "caller_phone": PHONE} | extra


def case_row(conn: Connection, case_id: int) -> Any:
    return conn.execute(
        text("""SELECT channel, town_code, community_code, property_area_code, handler_party,
                       handler_unit_code, type_code, due_at FROM case_file WHERE id = :i"""),
        {"i": case_id},
    ).one()


def test_a_gcj02_order_becomes_a_routed_case(conn: Connection, client, platform) -> None:
    r = post(
        client,
        platform,
        order(
            "GD-1",
            lon=GCJ[0],
            lat=GCJ[1],
            crs="gcj02",
            category="治安/涉黄",
            time_limit="2026-01-01T10:00:00+08:00",
        ),
    )
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["state"] == "filed" and got["town_code"] == "T1"
    row = case_row(conn, got["case_id"])
    assert (row.channel, row.town_code, row.community_code) == ("hotline", "T1", "C12")
    assert (row.handler_party, row.handler_unit_code) == ("public_security", "PS1")
    assert row.type_code == "drugs_vice"  # 涉黄 is one of that type's words
    assert row.due_at.isoformat() == "2026-01-01T02:00:00+00:00"  # the platform's limit binds
    assert PHONE not in r.text


def test_the_same_order_twice_is_one_case_and_another_body_conflicts(
    conn: Connection, client, platform
) -> None:
    first = post(
        client, platform, order("GD-2", lon=GCJ[0], lat=GCJ[1], crs="gcj02", type_code="drugs_vice")
    )
    again = post(
        client, platform, order("GD-2", lon=GCJ[0], lat=GCJ[1], crs="gcj02", type_code="drugs_vice")
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case_id"] == first.json()["case_id"] and again.json()["duplicate"]
    n = conn.execute(text("SELECT count(*) FROM case_file WHERE channel = 'hotline'")).scalar()
    assert n == 1
    other = post(
        client, platform, order("GD-2", lon=GCJ[0], lat=GCJ[1], crs="wgs84", type_code="drugs_vice")
    )
    assert other.status_code == 409 and other.json()["code"] == "hotline_order_conflict"


def test_bad_signatures_and_stale_timestamps_are_refused(client, platform) -> None:
    body = json.dumps(order("GD-3", address="金桂苑", type_code="drugs_vice")).encode()
    headers = signed_headers(platform["api_key"], platform["secret"], body)
    tampered = body.replace(b"GD-3", b"GD-4")
    r = client.post("/api/v1/hotline/orders", content=tampered, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "hotline_signature_invalid"
    assert r.json()["message"]
    stale = signed_headers(platform["api_key"], platform["secret"], body, at=int(time.time()) - 301)
    r = client.post("/api/v1/hotline/orders", content=body, headers=stale)
    assert r.status_code == 401 and r.json()["code"] == "hotline_timestamp_stale"
    wrong = signed_headers("not-a-key", platform["secret"], body)
    r = client.post("/api/v1/hotline/orders", content=body, headers=wrong)
    assert r.status_code == 401 and r.json()["code"] == "hotline_key_invalid"
    r = client.post("/api/v1/hotline/orders", content=body)
    assert r.status_code == 401 and r.json()["code"] == "hotline_credentials_missing"


def test_an_unambiguous_address_is_placed(conn: Connection, client, platform) -> None:
    r = post(
        client,
        platform,
        order("GD-5", address="金桂苑", category="占道经营", content="小区门口有人摆摊"),
    )
    assert r.status_code == 201, r.text
    row = case_row(conn, r.json()["case_id"])
    assert (row.town_code, row.community_code, row.property_area_code) == ("T1", "C11", "P111")
    assert row.type_code == "street_vending"


def test_an_ambiguous_address_is_parked_and_a_dispatcher_places_it(
    conn: Connection, client, platform
) -> None:
    r = post(client, platform, order("GD-6", address="乙", type_code="drugs_vice"))
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "parked"
    assert {c["name"] for c in r.json()["candidates"]} == {"乙镇", "乙一社区", "乙二社区"}
    token = client.post("/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    parked = client.get("/api/v1/hotline/orders/parked", headers=auth).json()
    assert [p["order_no"] for p in parked] == ["GD-6"] and PHONE not in json.dumps(parked)
    oid = parked[0]["id"]
    placed = client.post(
        f"/api/v1/hotline/orders/{oid}/place", headers=auth, json={"lon": IN_T2[0], "lat": IN_T2[1]}
    )
    assert placed.status_code == 201, placed.text
    row = case_row(conn, placed.json()["case_id"])
    assert (row.town_code, row.community_code, row.handler_unit_code) == ("T2", "C22", "PS2")
    assert client.get("/api/v1/hotline/orders/parked", headers=auth).json() == []
    again = client.post(
        f"/api/v1/hotline/orders/{oid}/place", headers=auth, json={"lon": IN_T2[0], "lat": IN_T2[1]}
    )
    assert again.status_code == 409 and again.json()["code"] == "hotline_order_already_filed"
    # the platform re-sending the order now learns its case
    resent = post(client, platform, order("GD-6", address="乙", type_code="drugs_vice"))
    assert resent.status_code == 200 and resent.json()["case_id"] == placed.json()["case_id"]


def act(conn: Connection, who: Any, case_id: int, action: str, **payload: Any) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def test_milestones_are_posted_back_once_each_signed(
    conn: Connection, client, platform, world: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    d, ps1 = world["dispatcher"], world["police_ps1"]
    a = post(
        client, platform, order("GD-7", lon=GCJ[0], lat=GCJ[1], crs="gcj02", type_code="drugs_vice")
    ).json()["case_id"]
    b = post(
        client, platform, order("GD-8", lon=GCJ[0], lat=GCJ[1], crs="gcj02", type_code="drugs_vice")
    ).json()["case_id"]
    act(conn, d, a, "accept")
    act(conn, d, a, "dispatch")
    act(conn, ps1, a, "start")
    act(
        conn,
        ps1,
        a,
        "request_postpone",
        note="需协调，联系人 13800001111",
        due_at="2026-12-31T10:00:00+08:00",
    )
    act(conn, ps1, a, "resolve", note="已查处", public_reply="已依法查处")
    act(conn, d, a, "verify", outcome="fixed", public_reply="已办结")
    act(conn, d, b, "reject", note=f"非本区事项（来电 {PHONE}）")
    with callback_server("platform-callback-secret") as platform_side:
        s = Settings(
            hotline_callback_url=platform_side.url,
            hotline_callback_secret="platform-callback-secret",
            notify_quiet_hours="off",
        )
        transports = transports_for(s)
        for _ in range(3):  # as `shudi notify run` loops; a second pass finds nothing to send
            deliver_due(conn, transports=transports, settings=s)
        got = platform_side.good
        assert platform_side.bad == []
        seen = [(g["order_no"], g["milestone"]) for g in got]
        assert sorted(seen) == sorted(
            [
                ("GD-7", "accept"),
                ("GD-7", "postpone_request"),
                ("GD-7", "reply"),
                ("GD-7", "close"),
                ("GD-8", "return"),
            ]
        )
        by = {g["milestone"]: g for g in got}
        assert by["reply"]["reply"] == "已依法查处" and by["close"]["reply"] == "已办结"
        assert by["return"]["reason"].startswith("非本区事项")
        assert by["postpone_request"]["requested_due_at"] == "2026-12-31T02:00:00+00:00"
        assert all(g["_idempotency_key"] == g["callback_id"] for g in got)
        everything = b"".join(platform_side.raw).decode() + caplog.text
        assert PHONE not in everything and "13800001111" not in everything


def test_the_openapi_document_describes_the_route() -> None:
    from api.app import create_app

    op = create_app().openapi()["paths"]["/api/v1/hotline/orders"]["post"]
    body = op["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["order_no", "content"]
    assert body["examples"]["gcj02"]["value"]["crs"] == "gcj02"
    assert {"X-Api-Key", "X-Timestamp", "X-Signature"} <= {p["name"] for p in op["parameters"]}
    assert {"200", "201", "202", "401", "409", "422"} <= set(op["responses"])


def test_the_same_order_sent_at_once_over_a_real_port_is_one_case(
    scratch_db_url: str, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from sqlalchemy import create_engine
    from support import live_server, load_mini

    from jurisdictions import catalog

    eng = create_engine(scratch_db_url)
    with eng.begin() as c:
        load_mini(c)
        catalog.sync_taxonomy(c)
        made = hotline_keys.create_platform(c, name="12345")
    body = json.dumps(order("GD-9", lon=GCJ[0], lat=GCJ[1], crs="gcj02", type_code="drugs_vice"))
    with live_server(scratch_db_url, log=tmp_path / "server.log") as base:

        def send(_: int) -> httpx.Response:
            headers = signed_headers(made["api_key"], made["secret"], body.encode())
            return httpx.post(
                f"{base}/api/v1/hotline/orders", content=body, headers=headers, timeout=30
            )

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(send, range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["case_id"] for a in answers}) == 1
    assert PHONE not in (tmp_path / "server.log").read_text(errors="replace")
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM case_file")).scalar() == 1
    eng.dispose()


def test_key_rotation_reseals_secrets_and_parked_phones(conn: Connection, client, platform) -> None:
    from incidents import privacy
    from shudi.pii import Cipher, get_cipher, new_key_line, parse_keys

    assert (
        post(client, platform, order("GD-R1", address="乙", type_code="drugs_vice")).status_code
        == 202
    )
    filed = post(client, platform, order("GD-R2", address="金桂苑", type_code="drugs_vice"))
    assert filed.status_code == 201
    kept = conn.execute(
        text("""SELECT order_no, "order"->>'caller_phone' AS p FROM hotline_order
                ORDER BY order_no""")
    ).all()
    assert kept[1].p == "" and kept[0].p.startswith("pii1:")  # a filed order keeps no phone
    fresh = new_key_line()
    rotated = Cipher((parse_keys(fresh)[0], *get_cipher().keys))
    privacy.reseal(conn, cipher=rotated)
    only_new = Cipher((parse_keys(fresh)[0],))
    phone = conn.execute(
        text("""SELECT "order"->>'caller_phone' FROM hotline_order WHERE order_no = 'GD-R1'""")
    ).scalar()
    assert only_new.open(phone, column="phone") == PHONE
    secret = conn.execute(
        text("SELECT secret FROM hotline_key WHERE api_key_id = :k"), {"k": platform["id"]}
    ).scalar()
    assert only_new.open(secret, column="hotline_secret") == platform["secret"]


def test_invalid_orders_get_a_code_and_a_message(client, platform) -> None:
    body = b'{"order_no": "GD-X", "content": '
    r = client.post(
        "/api/v1/hotline/orders",
        content=body,
        headers=signed_headers(platform["api_key"], platform["secret"], body),
    )
    assert r.status_code == 422 and r.json()["code"] == "hotline_order_invalid"
    r = post(client, platform, order("GD-Y", type_code="drugs_vice"))
    assert r.status_code == 422 and r.json()["code"] == "hotline_order_invalid"
    r = post(client, platform, order("GD-Z", address="金桂苑", content="你好", category="咨询"))
    assert r.status_code == 422 and r.json()["code"] == "hotline_category_unmapped"
    assert r.json()["message"]
