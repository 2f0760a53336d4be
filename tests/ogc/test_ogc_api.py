"""OGC API – Features under ``/ogc`` on the mini district (``tests/support.py``), in-process.

The documents are validated against the standard's own JSON schemas (``schemas/``, copied
from the OGC's repository); expected features come from the mini district's hand-drawn boxes,
and the Gauss-Krüger coordinates of its corner (120°E, 30°N) from the meridian arc integrated
here, not from PROJ.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from ogc_schemas import errors
from pyproj import Transformer
from scipy.integrate import quad
from sqlalchemy import Connection, text
from support import IN_P111, IN_P112, IN_T2, MINI, app_client, file_report, type_of

from accounts.service import Principal, issue_token
from jurisdictions.generations import import_layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def client(conn: Connection, world: dict[str, Principal]) -> Any:
    with app_client(conn) as c:
        yield c


def bearer(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def test_landing_conformance_collections_validate(client: TestClient) -> None:
    landing = client.get("/ogc")
    assert landing.status_code == 200 and not errors("landingPage", landing.json())
    rels = {link["rel"]: link["href"] for link in landing.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/ogc/collections")
    assert client.get(rels["service-desc"].removeprefix("http://testserver")).status_code == 200

    conf = client.get("/ogc/conformance").json()
    assert not errors("confClasses", conf)
    assert set(conf["conformsTo"]) >= {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    }
    assert not any(c.endswith("/conf/html") for c in conf["conformsTo"])  # JSON only

    colls = client.get("/ogc/collections").json()
    assert not errors("collections", colls)
    ids = [c["id"] for c in colls["collections"]]
    # the mini district: four boundary layers, no gazetteer; no cases for the anonymous
    assert ids == ["town", "community", "property_area", "agency_unit-public_security"]
    town = client.get("/ogc/collections/town").json()
    assert not errors("collection", town)
    assert town["storageCrs"] == CRS84 and town["crs"][0] == CRS84
    # the mini district lies at 120.00–120.04°E: CGCS2000 3-degree GK CM 120E is EPSG:4549
    assert set(town["crs"]) == {CRS84, EPSG + "4326", EPSG + "4490", EPSG + "4549"}
    assert town["extent"]["spatial"]["bbox"] == [[120.0, 30.0, 120.04, 30.02]]
    assert {"items", "self"} <= {link["rel"] for link in town["links"]}


def test_items_page_by_page_with_next_links(client: TestClient) -> None:
    first = client.get("/ogc/collections/property_area/items", params={"limit": 2})
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/geo+json"
    assert first.headers["content-crs"] == f"<{CRS84}>"
    body = first.json()
    assert not errors("featureCollectionGeoJSON", body)
    assert (body["numberMatched"], body["numberReturned"]) == (3, 2)
    datetime.fromisoformat(body["timeStamp"])
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=2" in links["next"] and "limit=2" in links["next"]
    second = client.get(links["next"].removeprefix("http://testserver")).json()
    assert (second["numberMatched"], second["numberReturned"]) == (3, 1)
    assert "next" not in {link["rel"] for link in second["links"]}
    codes = [f["properties"]["code"] for f in body["features"] + second["features"]]
    assert sorted(codes) == ["P111", "P112", "P121"]
    p111 = next(
        f
        for f in body["features"] + second["features"]
        if f["id"] and f["properties"]["code"] == "P111"
    )
    assert p111["properties"]["property_company"] == "甲物业服务有限公司"
    one = client.get(f"/ogc/collections/property_area/items/{p111['id']}").json()
    assert one["properties"]["code"] == "P111" and one["geometry"] == p111["geometry"]
    assert not errors("featureGeoJSON", one)
    assert client.get("/ogc/collections/property_area/items/999999").status_code == 404


def test_bbox_in_crs84_epsg4326_and_gauss_kruger(client: TestClient) -> None:
    def codes(**q: str) -> list[str]:
        r = client.get("/ogc/collections/community/items", params=q)
        assert r.status_code == 200, r.text
        return sorted(f["properties"]["code"] for f in r.json()["features"])

    # a box inside C22 only (120.025–120.035°E, 30.012–30.018°N)
    assert codes(bbox="120.025,30.012,120.035,30.018") == ["C22"]
    # the same box in EPSG:4326's own axis order: latitude first
    assert codes(bbox="30.012,120.025,30.018,120.035", **{"bbox-crs": EPSG + "4326"}) == ["C22"]
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4549")  # authority order: northing first
    n0, e0 = to_gk.transform(30.012, 120.025)
    n1, e1 = to_gk.transform(30.018, 120.035)
    box = f"{min(n0, n1)},{min(e0, e1)},{max(n0, n1)},{max(e0, e1)}"
    assert codes(bbox=box, **{"bbox-crs": EPSG + "4549"}) == ["C22"]
    # property filters, one value or several
    assert codes(parent_code="T1") == ["C11", "C12"]
    assert codes(code="C11,C21") == ["C11", "C21"]


def meridian_arc(lat_deg: float) -> float:
    """Length of the CGCS2000 meridian from the equator to ``lat_deg`` (metres), integrated."""
    a, f = 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)

    def m(phi: float) -> float:
        return a * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5

    return quad(m, 0, math.radians(lat_deg))[0]


def test_crs_4490_and_gauss_kruger_coordinates(client: TestClient) -> None:
    r = client.get("/ogc/collections/town/items", params={"code": "T1", "crs": EPSG + "4549"})
    assert r.headers["content-crs"] == f"<{EPSG}4549>"
    ring = r.json()["features"][0]["geometry"]["coordinates"][0][0]
    # T1's corner (120°E, 30°N) is on the zone's central meridian: easting 500 000 m, and
    # northing the meridian arc to 30° (GK scale factor 1); northing comes first in EPSG:4549
    corner = min(ring, key=lambda p: p[0] + p[1])
    assert corner[1] == pytest.approx(500_000.0, abs=0.001)
    assert corner[0] == pytest.approx(meridian_arc(30.0), abs=0.01)
    assert corner[0] == pytest.approx(3_320_113.4, abs=1.0)  # the published WGS 84 figure
    # every vertex as pyproj transforms the stored (lon, lat) box: within 1 cm
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4549")
    stored = MINI[("town", "")]["features"][0]["geometry"]["coordinates"][0][0]
    for (lon, lat), (n, e) in zip(stored, ring, strict=True):
        assert math.dist(to_gk.transform(lat, lon), (n, e)) < 0.01

    cgcs = client.get("/ogc/collections/town/items", params={"code": "T1", "crs": EPSG + "4490"})
    assert cgcs.headers["content-crs"] == f"<{EPSG}4490>"
    ring = cgcs.json()["features"][0]["geometry"]["coordinates"][0][0]
    assert [[lat, lon] for lon, lat in stored] == ring  # latitude first, identical values
    bad = client.get("/ogc/collections/town/items", params={"crs": EPSG + "3857"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameter"


def test_every_generation_is_reachable(client: TestClient, conn: Connection) -> None:
    first = conn.execute(
        text("SELECT generation_id, valid_from FROM generation_period WHERE layer = 'town'")
    ).one()
    moved = {**MINI[("town", "")]}
    moved["features"] = [
        {**f, "properties": {**f["properties"], "name": f["properties"]["name"] + "（新）"}}
        for f in moved["features"]
    ]
    gdf = gpd.GeoDataFrame.from_features(moved["features"], crs="EPSG:4326")
    second = import_layer(conn, gdf=gdf, layer="town", source="t2", activate=True).generation_id
    names = lambda **q: sorted(  # noqa: E731
        f["properties"]["name"]
        for f in client.get("/ogc/collections/town/items", params=q).json()["features"]
    )
    assert names() == ["乙镇（新）", "甲街道（新）"]  # the active generation
    assert names(generation=str(first.generation_id)) == ["乙镇", "甲街道"]
    assert names(generation=str(second)) == ["乙镇（新）", "甲街道（新）"]
    # datetime: the generations valid then (an instant just after the first one opened)
    at = (first.valid_from + timedelta(microseconds=1)).astimezone(UTC).isoformat()
    second_from = conn.execute(
        text("SELECT valid_from FROM generation_period WHERE generation_id = :g"),
        {"g": second},
    ).scalar_one()
    assert second_from > first.valid_from + timedelta(microseconds=1)  # clock_timestamp()
    assert names(datetime=at) == ["乙镇", "甲街道"]
    assert len(names(datetime=f"{at}/..")) == 4  # both generations overlap that interval
    doc = client.get("/ogc/collections/town").json()
    assert [g["id"] for g in doc["generations"]] == [first.generation_id, second]
    unknown = client.get("/ogc/collections/town/items", params={"generation": "999"})
    assert unknown.status_code == 400


def test_bad_parameters_are_400_with_code_and_message(client: TestClient) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "x"},
        {"bbox": "1,2,3"},
        {"bbox": "120.1,30,120.0,30.1"},
        {"datetime": "yesterday"},
        {"datetime": "2026-01-01T00:00:00"},
        {"status": "open"},  # a cases filter on a boundary layer
        {"colour": "red"},
        {"f": "html"},
        {"bbox-crs": EPSG + "4326"},
    ):
        r = client.get("/ogc/collections/community/items", params=params)
        assert r.status_code == 400, params
        assert r.json()["code"] == "invalid_parameter" and r.json()["message"], params
    missing = client.get("/ogc/collections/lakes/items")
    assert missing.status_code == 404 and missing.json()["code"] == "collection_not_found"


PERSONAL = ("张三", "13800000000", "测试", "description", "phone", "contact", "reporter", "email")


def test_cases_are_staff_only_in_their_scope(
    client: TestClient, conn: Connection, world: dict[str, Principal]
) -> None:
    kind = type_of(conn, agency="urban_management")
    ids = {where: file_report(conn, where, kind)["id"] for where in (IN_P111, IN_P112, IN_T2)}
    anonymous = client.get("/ogc/collections/cases/items")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated" and anonymous.json()["message"]
    assert client.get("/ogc/collections/cases").status_code == 401
    planner = client.get("/ogc/collections/cases/items", headers=bearer(conn, world["planner"]))
    assert planner.status_code == 403 and planner.json()["code"] == "forbidden"

    def seen(who: str, **q: str) -> set[int]:
        r = client.get("/ogc/collections/cases/items", params=q, headers=bearer(conn, world[who]))
        assert r.status_code == 200, r.text
        assert not errors("featureCollectionGeoJSON", r.json())
        assert not any(word in r.text for word in PERSONAL), r.text
        return {f["id"] for f in r.json()["features"]}

    # IN_P111 and IN_P112 lie in T1 / C11, IN_T2 in T2 / C22 (support.py's hand-drawn map)
    assert seen("dispatcher") == set(ids.values())
    assert seen("town_t1") == {ids[IN_P111], ids[IN_P112]}
    assert seen("town_t2") == {ids[IN_T2]}
    assert seen("community_c11") == {ids[IN_P111], ids[IN_P112]}
    assert seen("community_c21") == set()
    assert seen("dispatcher", town="T2") == {ids[IN_T2]}
    assert seen("dispatcher", community="C11", status="reported,accepted") == {
        ids[IN_P111],
        ids[IN_P112],
    }
    assert seen("dispatcher", type=kind, agency="urban_management") == set(ids.values())
    assert seen("dispatcher", bbox="120.029,30.014,120.031,30.016") == {ids[IN_T2]}
    today = datetime.now(UTC)
    assert seen("dispatcher", datetime=f"{(today - timedelta(hours=1)).isoformat()}/..") == set(
        ids.values()
    )
    assert seen("dispatcher", datetime=f"../{(today - timedelta(days=1)).isoformat()}") == set()
    colls = client.get("/ogc/collections", headers=bearer(conn, world["town_t1"])).json()
    assert not errors("collections", colls)
    cases = next(c for c in colls["collections"] if c["id"] == "cases")
    start, end = cases["extent"]["temporal"]["interval"][0]
    assert start <= end  # the town's cases' reporting times
    assert cases["extent"]["spatial"]["bbox"][0][0] == pytest.approx(IN_P111[0])  # T1's two
    hidden = client.get(
        f"/ogc/collections/cases/items/{ids[IN_T2]}", headers=bearer(conn, world["town_t1"])
    )
    assert hidden.status_code == 404  # another town's case is not revealed
