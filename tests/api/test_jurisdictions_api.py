"""The resolve, batch and layer endpoints over HTTP (in-process), on a real PostGIS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from support import app_client

from gis.coords import from_wgs84


@pytest.fixture
def client(conn: Connection, mini: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def test_resolve(client: TestClient, mini: dict) -> None:
    r = client.get("/api/v1/resolve", params={"lon": 120.002, "lat": 30.002})
    assert r.status_code == 200
    body = r.json()
    assert body["point"] == {"lon": 120.002, "lat": 30.002}
    assert body["town"] == {"code": "T1", "name": "甲街道", "kind": "subdistrict"}
    assert body["community"] == {"code": "C11", "name": "甲一社区"}
    assert body["property_area"]["code"] == "P111"
    assert body["agency_units"] == {"public_security": {"code": "PS1", "name": "西派出所"}}
    assert body["ambiguous"] is False and body["candidates"] == {}
    assert body["generation"] == mini


def test_resolve_gcj02(client: TestClient) -> None:
    lon, lat = from_wgs84(120.0025, 30.0025, "gcj02")
    body = client.get("/api/v1/resolve", params={"lon": lon, "lat": lat, "crs": "gcj02"}).json()
    assert body["property_area"]["code"] == "P111"
    assert body["point"]["lon"] == pytest.approx(120.0025, abs=1e-8)


def test_resolve_border(client: TestClient) -> None:
    body = client.get("/api/v1/resolve", params={"lon": 120.02, "lat": 30.005}).json()
    assert body["ambiguous"] is True
    assert body["candidates"]["town"] == ["T1", "T2"]
    assert body["town"]["code"] == "T1"


def test_outside(client: TestClient) -> None:
    r = client.get("/api/v1/resolve", params={"lon": 120.1, "lat": 30.01})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "outside_service_area"
    assert "outside the service area" in body["message"]
    assert body["nearest"]["code"] == "T2" and body["nearest"]["layer"] == "town"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"lon": "east", "lat": 30}, "invalid_request"),
        ({"lat": 30}, "invalid_request"),
        ({"lon": 30.002, "lat": 120.002}, "invalid_coordinates"),
        ({"lon": 40.0, "lat": 75.0}, "invalid_coordinates"),
        ({"lon": 120, "lat": 30, "crs": "mars"}, "invalid_request"),
        ({"lon": "nan", "lat": 30}, "invalid_coordinates"),
    ],
)
def test_bad_input(client: TestClient, params: dict, code: str) -> None:
    r = client.get("/api/v1/resolve", params=params)
    assert r.status_code == 422
    assert r.json()["code"] == code and r.json()["message"]


def test_at_before_any_generation(client: TestClient) -> None:
    r = client.get(
        "/api/v1/resolve", params={"lon": 120.002, "lat": 30.002, "at": "2000-01-01T00:00:00+08:00"}
    )
    assert r.status_code == 422 and r.json()["code"] == "outside_service_area"


def test_batch(client: TestClient, mini: dict) -> None:
    pts = [[120.002, 30.002], [120.02, 30.01], [120.1, 30.01], [30.002, 120.002], [120.006, 30.006]]
    r = client.post("/api/v1/resolve/batch", json={"points": pts})
    assert r.status_code == 200
    body = r.json()
    assert body["generation"] == mini
    res = body["results"]
    assert len(res) == 5
    assert res[0]["property_area"]["code"] == "P111"
    assert res[1]["candidates"]["community"] == ["C12", "C21", "C22"]
    assert res[2]["error"]["code"] == "outside_service_area"
    assert res[2]["error"]["nearest"]["code"] == "T2"
    assert res[3]["error"]["code"] == "invalid_coordinates"
    assert res[4]["town"]["code"] == "T2"


def test_batch_matches_single(client: TestClient) -> None:
    pts = [[120.0 + i * 0.0027, 30.0 + j * 0.0021] for i in range(15) for j in range(10)]
    batch = client.post("/api/v1/resolve/batch", json={"points": pts}).json()["results"]
    for (lon, lat), got in zip(pts, batch, strict=True):
        r = client.get("/api/v1/resolve", params={"lon": lon, "lat": lat})
        assert (r.json() if r.status_code == 200 else {"error": r.json()}) == got


def test_batch_gcj02_and_limits(client: TestClient) -> None:
    lon, lat = from_wgs84(120.0025, 30.0025, "gcj02")
    body = client.post(
        "/api/v1/resolve/batch", json={"points": [[lon, lat]], "crs": "gcj02"}
    ).json()
    assert body["results"][0]["property_area"]["code"] == "P111"
    too_many = client.post("/api/v1/resolve/batch", json={"points": [[120, 30]] * 10_001})
    assert too_many.status_code == 413 and too_many.json()["code"] == "too_many_points"
    empty = client.post("/api/v1/resolve/batch", json={"points": []})
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_request"


def test_layers(client: TestClient, mini: dict) -> None:
    r = client.get("/api/v1/layers/community.geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["generation"] == mini["community"]
    assert [f["id"] for f in fc["features"]] == ["C11", "C12", "C21", "C22"]
    assert fc["features"][0]["properties"]["parent_code"] == "T1"
    east = client.get(
        "/api/v1/layers/community.geojson", params={"bbox": "120.03,30.0,120.04,30.02", "zoom": 12}
    ).json()
    assert [f["id"] for f in east["features"]] == ["C21", "C22"]
    units = client.get(
        "/api/v1/layers/agency_unit.geojson", params={"agency": "public_security"}
    ).json()
    assert [f["properties"]["agency"] for f in units["features"]] == ["public_security"] * 2
    assert client.get("/api/v1/layers/county.geojson").json()["code"] == "unknown_layer"
    bad = client.get("/api/v1/layers/town.geojson", params={"bbox": "30,120,31,121"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_coordinates"
    huge = client.get("/api/v1/layers/town.geojson", params={"bbox": "100,20,130,40"})
    assert huge.status_code == 422 and "square degrees" in huge.json()["message"]
    listing = client.get("/api/v1/layers").json()
    assert {g["id"] for g in listing if g["active"]} >= set(mini.values())


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_route_is_json(client: TestClient) -> None:
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
