"""Every role against every case endpoint, on its own and on foreign cases: 0 leaks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from support import IN_P111, IN_T2, app_client, file_report, type_of

from accounts.service import issue_token

PHONE = "13800000000"


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def test_role_endpoint_matrix(conn: Connection, world: dict, client: TestClient) -> None:
    police = file_report(conn, IN_T2, type_of(conn, agency="public_security"))["id"]
    company = file_report(conn, IN_P111, type_of(conn, scope="property_service"))["id"]
    conn.execute(
        text(
            "INSERT INTO case_photo (case_id, content, mime, width, height, sha256) "
            "VALUES (:c, 'x', 'image/jpeg', 1, 1, 'x'), (:d, 'y', 'image/jpeg', 1, 1, "
            "'y')"
        ),
        {"c": police, "d": company},
    )
    photo = {
        cid: conn.execute(
            text("SELECT id FROM case_photo WHERE case_id = :c"), {"c": cid}
        ).scalar_one()
        for cid in (police, company)
    }
    visible = {
        "dispatcher": {police, company},
        "police_ps2": {police},
        "town_t2": {police},
        "town_t1": {company},
        "community_c11": {company},
        "company_jia": {company},
        "admin": {police, company},  # an overview of every case (issue 15), without its matter
    }
    # reporters: the dispatcher only; a handler once the dispatcher reveals them (issue 19)
    handlers = {police: {"dispatcher"}, company: {"dispatcher"}}
    checked = 0
    for name, who in world.items():
        token, _ = issue_token(conn, principal=who)
        auth = {"Authorization": f"Bearer {token}"}
        mine = visible.get(name, set())
        listed = client.get("/api/v1/cases", headers=auth).json()["items"]
        assert {c["id"] for c in listed} == mine, name
        feed = client.get("/api/v1/cases.geojson", headers=auth).json()["features"]
        assert {f["id"] for f in feed} == mine, name
        for cid in (police, company):
            answers = [
                client.get(f"/api/v1/cases/{cid}", headers=auth),
                client.get(f"/api/v1/cases/{cid}/events", headers=auth),
                client.get(f"/api/v1/cases/{cid}/photos", headers=auth),
                client.get(f"/api/v1/cases/{cid}/photos/{photo[cid]}", headers=auth),
            ]
            change = client.post(
                f"/api/v1/cases/{cid}/transitions",
                headers=auth | {"If-Match": '"1"'},
                json={"action": "comment", "note": "x"},
            )
            for r in answers + [change]:
                checked += 1
                if name == "admin" and r is answers[3]:  # no photos in an overview
                    assert r.status_code == 404 and PHONE not in r.text
                elif cid in mine:
                    assert r.status_code in (200, 403, 409, 412), (name, cid, r.text)
                else:
                    assert r.status_code == 404, (name, cid, r.status_code)
                    assert r.json()["code"] == "case_not_found"
                    assert PHONE not in r.text
            shows_phone = PHONE in answers[0].text
            assert shows_phone == (cid in mine and name in handlers[cid]), (name, cid)
    anonymous = client.get(f"/api/v1/cases/{police}")
    assert anonymous.status_code == 401 and PHONE not in anonymous.text
    assert checked == len(world) * 2 * 5
