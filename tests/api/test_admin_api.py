"""The administrator's API (issue 15's admin screens): users with roles and scopes, contacts
per area, bans, boundary generations (upload → validation report, compare, activate moving the
open cases), each error a JSON body with a stable ``code``; and every change audited with the
acting administrator's id and the request's ``X-Request-Id`` (issue 18).

Expected answers are worked by hand from the mini district of ``tests/support.py``: C11 is
lon 120.00–120.01 (with a hole), C12 lon 120.01–120.02, both lat 30.00–30.02 in T1.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from admin_layers import BAD, PLACES, RENUMBERED
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from support import PASSWORD, app_client, file_report, type_of

from accounts.service import Principal
from incidents import service as cases


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def api(conn: Connection, world: dict[str, Principal]) -> Any:
    with app_client(conn) as client:
        client.headers.update(login(client, "admin"))
        yield client


def error(r: Any, status: int, code: str, reason: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["message"], body
    if reason is not None:
        assert body.get("reason") == reason, body
    return dict(body)


# --- users ---------------------------------------------------------------------------------------


def test_users_are_added_with_a_role_and_a_scope_and_changed(api: TestClient) -> None:
    r = api.post(
        "/api/v1/users",
        json={
            "username": "c11worker",
            "role": "community_worker",
            "community_code": "C11",
            "town_code": "T1",  # not a community worker's field: dropped
            "password": "晴川历历汉阳树，芳草萋萋",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["password"] is None  # given, so not echoed
    row = next(u for u in api.get("/api/v1/users").json() if u["username"] == "c11worker")
    assert (row["role"], row["community_code"], row["town_code"]) == (
        "community_worker",
        "C11",
        None,
    )

    # a random password when none is given, shown once
    r = api.post(
        "/api/v1/users",
        json={
            "username": "ps1",
            "role": "agency_officer",
            "agency": "public_security",
            "agency_unit": "PS1",
        },
    )
    assert r.status_code == 201 and len(r.json()["password"]) >= 12
    ps1 = {"username": "ps1", "password": r.json()["password"]}
    assert api.post("/api/v1/auth/token", data=ps1).status_code == 200

    # role and scope changed: the old scope cleared
    r = api.put(
        "/api/v1/users/c11worker/access",
        json={"role": "town_coordinator", "town_code": "T2", "community_code": "C11"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["town_code"], r.json()["community_code"]) == ("T2", None)

    # disable ends the sessions and log-in; enable restores it
    assert api.post("/api/v1/users/ps1/disable").json()["active"] is False
    assert api.post("/api/v1/auth/token", data=ps1).status_code == 401
    assert api.post("/api/v1/users/ps1/enable").json()["active"] is True
    reset = api.post("/api/v1/users/ps1/password", json={"password": None})
    assert reset.status_code == 200 and reset.json()["password"]


@pytest.mark.parametrize(
    ("body", "status", "code", "reason"),
    [
        ({"username": "admin", "role": "dispatcher"}, 422, "invalid_account", "exists"),
        (
            {"username": "weak", "role": "dispatcher", "password": "password1"},
            422,
            "invalid_account",
            "common",
        ),
        (
            {"username": "boss2", "role": "admin", "password": "eleven char"},
            422,
            "invalid_account",
            "too_short",
        ),
        (
            {"username": "worker", "role": "community_worker"},
            422,
            "invalid_account",
            "scope_missing",
        ),
        (
            {"username": "worker", "role": "community_worker", "community_code": "C99"},
            422,
            "invalid_account",
            "unknown_area",
        ),
        (
            {
                "username": "police",
                "role": "agency_officer",
                "agency": "public_security",
                "agency_unit": "UM1",
            },
            422,
            "invalid_account",
            "unknown_area",
        ),
        ({"username": "someone", "role": "nobody"}, 422, "invalid_account", "unknown_role"),
        ({"username": "a b", "role": "dispatcher"}, 422, "invalid_request", None),
    ],
)
def test_bad_users_are_refused_with_a_stable_code(
    api: TestClient, body: dict, status: int, code: str, reason: str | None
) -> None:
    error(api.post("/api/v1/users", json=body), status, code, reason)


def test_user_changes_that_are_refused(api: TestClient) -> None:
    error(
        api.put("/api/v1/users/admin/access", json={"role": "dispatcher"}), 403, "forbidden", "self"
    )
    error(api.post("/api/v1/users/admin/disable"), 403, "forbidden", "self")
    error(api.post("/api/v1/users/nobody/disable"), 404, "not_found")
    error(api.put("/api/v1/users/nobody/access", json={"role": "planner"}), 404, "not_found")


def test_only_an_administrator_manages(conn: Connection, world: dict) -> None:
    with app_client(conn) as client:
        client.headers.update(login(client, "dispatcher"))
        error(
            client.post("/api/v1/users", json={"username": "zed", "role": "planner"}),
            403,
            "forbidden",
        )
        error(
            client.put(
                "/api/v1/contacts",
                json={"agency": "public_security", "person": "王", "phone": "110"},
            ),
            403,
            "forbidden",
        )
        error(client.post("/api/v1/boundaries/generations/1/activate"), 403, "forbidden")


# --- contacts ------------------------------------------------------------------------------------


def test_contacts_per_area_are_added_edited_and_removed(api: TestClient) -> None:
    where = {"scope_layer": "community", "scope_code": "C11"}
    body = {"agency": "public_security", "person": "李警官", "phone": "0571-1234567", **where}
    r = api.put("/api/v1/contacts", json=body)
    assert r.status_code == 200 and [c["person"] for c in r.json()] == ["李警官"]
    r = api.put("/api/v1/contacts", json=body | {"person": "赵警官", "hours": "8:30-17:30"})
    assert [(c["person"], c["hours"]) for c in r.json()] == [("赵警官", "8:30-17:30")]  # replaced
    assert api.get("/api/v1/contacts", params=where).json()[0]["agency_name"]
    assert (
        api.get("/api/v1/contacts", params={"scope_layer": "community", "scope_code": "C12"}).json()
        == []
    )
    cid = r.json()[0]["id"]
    assert api.delete(f"/api/v1/contacts/{cid}").status_code == 204
    assert api.get("/api/v1/contacts", params=where).json() == []
    error(api.delete(f"/api/v1/contacts/{cid}"), 404, "contact_not_found")
    error(api.put("/api/v1/contacts", json=body | {"person": " "}), 422, "invalid_contact")
    error(api.put("/api/v1/contacts", json=body | {"agency": "nobody"}), 404, "unknown_agency")
    error(
        api.get("/api/v1/contacts", params={"scope_layer": "planet", "scope_code": "x"}),
        422,
        "invalid_contact",
    )


def test_bans_are_added_and_lifted_by_the_administrator(api: TestClient) -> None:
    r = api.post("/api/v1/bans", json={"kind": "phone", "value": "139 0000 1111", "reason": "刷单"})
    assert r.status_code == 201, r.text
    ban = r.json()["id"]
    assert [b["id"] for b in api.get("/api/v1/bans").json()] == [ban]
    assert api.delete(f"/api/v1/bans/{ban}").status_code == 204
    assert api.get("/api/v1/bans").json() == []
    error(api.delete(f"/api/v1/bans/{ban}"), 404, "ban_not_found")


# --- boundary generations -------------------------------------------------------------------------


def upload(api: TestClient, data: bytes, name: str = "layer.geojson", layer: str = "community"):
    return api.post(
        "/api/v1/boundaries/uploads",
        files={"file": (name, data, "application/geo+json")},
        data={"layer": layer, "description": "测试"},
    )


def test_a_bad_layer_shows_its_problems_and_stores_nothing(
    api: TestClient, conn: Connection
) -> None:
    before = conn.execute(text("SELECT count(*) FROM boundary_generation")).scalar_one()
    bad = BAD
    body = error(upload(api, bad), 422, "boundary_import_rejected")
    errors = {(p["kind"], tuple(p["codes"])) for p in body["problems"] if p["severity"] == "error"}
    assert ("overlap", ("C31", "C32")) in errors
    assert ("outside_parent", ("C33", "T2")) in errors
    assert "missing_code" in {kind for kind, _ in errors}
    after = conn.execute(text("SELECT count(*) FROM boundary_generation")).scalar_one()
    assert after == before
    error(upload(api, b"code,name\n", "layer.csv"), 422, "unreadable_boundary_file", "format")
    error(upload(api, b"{not json", "layer.geojson"), 422, "unreadable_boundary_file", "unreadable")
    error(upload(api, RENUMBERED, layer="county"), 404, "unknown_layer")


def test_a_renumbered_layer_is_compared_and_activated_moving_the_open_cases(
    api: TestClient, conn: Connection, world: dict
) -> None:
    t = type_of(conn, agency="urban_management")
    placed = {name: file_report(conn, where, t)["id"] for name, where, _ in PLACES}
    placed["closed in C11"] = file_report(conn, (120.003, 30.018), t)["id"]  # rejected below
    d = world["dispatcher"]
    closed = placed["closed in C11"]
    version = cases.get_case(conn, case_id=closed, principal=d)["version"]
    cases.transition(
        conn,
        case_id=closed,
        principal=d,
        action="reject",
        payload={"note": "重复上报"},
        if_match=version,
    )
    r = upload(api, RENUMBERED)
    assert r.status_code == 201, r.text
    gen = r.json()["generation_id"]
    assert r.json()["feature_count"] == 4

    diff = api.get(f"/api/v1/boundaries/generations/{gen}/compare").json()
    assert [a["code"] for a in diff["added"]] == ["C13"]
    assert [a["code"] for a in diff["removed"]] == ["C11"]
    assert [c["code"] for c in diff["changed"]] == ["C12"] and diff["unchanged"] == 2
    # C12 loses a strip 0.002° of longitude by 0.02° of latitude at lat 30.01: on the WGS-84
    # ellipsoid 0.002° × 111,319.5 m × cos 30.01° ≈ 192.8 m wide, 0.02° × 110,852 m ≈ 2,217 m
    # high: ≈ 427,400 m² less.
    strip = 0.002 * 111_319.5 * math.cos(math.radians(30.01)) * 0.02 * 110_852
    assert diff["changed"][0]["area_change_m2"] == pytest.approx(-strip, rel=0.01)
    assert diff["changed"][0]["reshaped"] is True

    shapes = api.get(f"/api/v1/boundaries/generations/{gen}.geojson").json()
    assert sorted(f["properties"]["code"] for f in shapes["features"]) == [
        "C12",
        "C13",
        "C21",
        "C22",
    ]

    done = api.post(f"/api/v1/boundaries/generations/{gen}/activate").json()
    # five open cases; the three west of lon 120.012 in T1 change community
    assert (done["changed"], done["open_cases"], done["moved"]) == (True, 5, 3)
    moved = cases.get_case(conn, case_id=placed["C12 west strip"], principal=d)
    assert moved["community_code"] == "C13"
    again = api.post(f"/api/v1/boundaries/generations/{gen}/activate").json()
    assert (again["changed"], again["moved"]) == (False, 0)
    error(api.post("/api/v1/boundaries/generations/999999/activate"), 404, "generation_not_found")


# --- the audit log names the administrator and the request ----------------------------------------


def test_admin_changes_are_audited_with_the_admin_and_the_request_id(
    api: TestClient, conn: Connection, world: dict
) -> None:
    admin_id = world["admin"].user_id
    r = api.post(
        "/api/v1/users",
        json={"username": "audited", "role": "planner"},
        headers={"X-Request-Id": "req-admin-add-1"},
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == "req-admin-add-1"
    api.post(
        "/api/v1/bans",
        json={"kind": "ip", "value": "203.0.113.9", "reason": "刷单"},
        headers={"X-Request-Id": "req-admin-ban-2"},
    )
    rows = conn.execute(
        text("""SELECT table_name, op, actor, actor_id, request_id FROM audit_log
                WHERE request_id LIKE 'req-admin-%' ORDER BY id""")
    ).all()
    assert [(r.table_name, r.op, r.actor_id, r.request_id) for r in rows] == [
        ("app_user", "INSERT", admin_id, "req-admin-add-1"),
        ("ban", "INSERT", admin_id, "req-admin-ban-2"),
    ]
    assert rows[0].actor == "admin (admin)"


@pytest.mark.parametrize("fmt", ["gpkg", "zip"])
def test_geopackage_and_zipped_shapefile_uploads(api: TestClient, tmp_path: Any, fmt: str) -> None:
    import zipfile

    import geopandas as gpd

    gdf = gpd.read_file(RENUMBERED.decode())
    if fmt == "gpkg":
        gdf.to_file(tmp_path / "layer.gpkg", driver="GPKG")
        data = (tmp_path / "layer.gpkg").read_bytes()
    else:
        gdf.rename(columns={"parent_code": "parent"}).to_file(tmp_path / "layer.shp")
        with zipfile.ZipFile(tmp_path / "layer.zip", "w") as z:
            for part in tmp_path.glob("layer.*"):
                if part.suffix != ".zip":
                    z.write(part, f"shp/{part.name}")
        data = (tmp_path / "layer.zip").read_bytes()
    r = api.post(
        "/api/v1/boundaries/uploads",
        files={"file": (f"layer.{fmt}", data, "application/octet-stream")},
        data={"layer": "community", "parent_field": "parent" if fmt == "zip" else ""},
    )
    assert r.status_code == 201, r.text
    diff = api.get(f"/api/v1/boundaries/generations/{r.json()['generation_id']}/compare").json()
    assert ([a["code"] for a in diff["added"]], [c["code"] for c in diff["changed"]]) == (
        ["C13"],
        ["C12"],
    )
