"""The linkage endpoints: agencies, violation types, route, directory (no resident data)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from support import app_client

from jurisdictions import catalog, published_contacts


@pytest.fixture
def client(conn: Connection, mini: dict) -> Iterator[TestClient]:
    catalog.sync_taxonomy(conn)
    published_contacts.set_contact(
        conn,
        agency="community_committee",
        scope_layer="community",
        scope_code="C11",
        person="周主任",
        phone="0571-80000003",
    )
    with app_client(conn) as c:
        yield c


def test_agencies(client: TestClient) -> None:
    body = client.get("/api/v1/agencies").json()
    codes = [a["code"] for a in body]
    assert codes[:3] == ["housing_service_center", "housing_construction", "urban_management"]
    assert {"property_company", "utility", "town_government"} <= set(codes)
    utility = next(a for a in body if a["code"] == "utility")
    assert {k["code"] for k in utility["kinds"]} >= {"water", "power", "gas", "broadband"}


def test_violation_types_and_search(client: TestClient) -> None:
    allt = client.get("/api/v1/violation-types").json()
    assert all(
        {
            "code",
            "name_zh",
            "name_en",
            "agency",
            "actions",
            "reportable",
            "scope",
            "source_ref",
            "keywords",
        }
        <= set(t)
        for t in allt
    )
    rep = client.get("/api/v1/violation-types", params={"reportable": True}).json()
    assert 0 < len(rep) < len(allt) and all(t["reportable"] for t in rep)
    hits = client.get("/api/v1/violation-types", params={"q": "违建", "reportable": True}).json()
    assert hits and all(t["agency"] == "urban_management" for t in hits[:1])
    police = client.get("/api/v1/violation-types", params={"agency": "public_security"}).json()
    assert police and {t["agency"] for t in police} == {"public_security"}


def test_violation_types_rank_a_resident_sentence(client: TestClient) -> None:
    hits = client.get("/api/v1/violation-types", params={"q": "楼上半夜装修吵得睡不着"}).json()
    assert hits[0]["code"] == "renovation_noise_night"  # 二（四）3: 夜间装修噪声, 公安
    assert hits[0]["plain_zh"] and hits[0]["categories"] == ["noise"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(h["scope"] != "dispute" for h in hits)
    lift = client.get("/api/v1/violation-types", params={"q": "电梯困人"}).json()[0]
    assert lift["code"] == "lift_entrapment" and lift["urgent"][0]["number"] == "96333"
    staff = client.get(
        "/api/v1/violation-types", params={"q": "违建纠纷", "audience": "staff"}
    ).json()
    assert staff[0]["scope"] == "dispute"
    bad = client.get("/api/v1/violation-types", params={"q": "x", "audience": "everyone"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_query"


def test_route(client: TestClient) -> None:
    ptype = client.get(
        "/api/v1/violation-types", params={"scope": "property_service", "reportable": True}
    ).json()[0]
    r = client.get("/api/v1/route", params={"lon": 120.002, "lat": 30.012, "type": ptype["code"]})
    assert r.status_code == 200
    body = r.json()
    assert body["handler"]["party"] == "town_government"
    assert body["territory"]["town"]["code"] == "T1"
    assert body["property_area"]["code"] == "P112"
    assert body["reasons"][0]["rule"] == "simple_property_management"
    assert body["generation"]["town"]
    bad = client.get("/api/v1/route", params={"lon": 120.002, "lat": 30.012, "type": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_violation_type"
    out = client.get("/api/v1/route", params={"lon": 121.5, "lat": 31.2, "type": ptype["code"]})
    assert out.status_code == 422 and out.json()["code"] == "outside_service_area"


def test_directory(client: TestClient) -> None:
    body = client.get("/api/v1/directory", params={"lon": 120.002, "lat": 30.002}).json()
    parties = {p["agency"]: p for p in body["parties"]}
    assert len(body["parties"]) == 12
    assert parties["community_committee"]["contact"]["person"] == "周主任"
    assert parties["property_company"]["acting_unit"]["name"] == "甲物业服务有限公司"
    estate = client.get("/api/v1/directory/P112").json()
    company = {p["agency"]: p for p in estate["parties"]}["property_company"]
    assert "简易物业管理" in company["acting_unit"]["name"]
    missing = client.get("/api/v1/directory/NOPE")
    assert missing.status_code == 404 and missing.json()["code"] == "property_area_not_found"


def test_directory_by_who_to_call_first(client: TestClient, conn: Connection) -> None:
    set_contact = published_contacts.set_contact
    set_contact(conn, agency="utility", kind="gas", office="甲燃气", person="调度",
                phone="0571-80000009", hours="24小时")  # fmt: skip
    set_contact(conn, agency="utility", kind="gas", scope_layer="town", scope_code="T2",
                office="乙燃气", person="调度", phone="0571-80000010")  # fmt: skip
    here = {"lon": 120.002, "lat": 30.002}
    body = client.get("/api/v1/directory", params=here).json()
    order = [p["agency"] for p in body["parties"]]
    assert order[:3] == ["property_company", "community_committee", "town_government"]
    assert sorted(order) == sorted(a["code"] for a in client.get("/api/v1/agencies").json())
    lift = client.get("/api/v1/directory", params=here | {"type": "lift_entrapment"}).json()
    assert [p["agency"] for p in lift["parties"]][3] == "market_regulation"  # 二（八）
    assert [(u["kind"], u["name"]) for u in body["utilities"]] == [("gas", "甲燃气")]
    in_t2 = client.get("/api/v1/directory", params={"lon": 120.03, "lat": 30.015}).json()
    assert [u["name"] for u in in_t2["utilities"]] == ["乙燃气"]  # the town's own company
    assert [e["number"] for e in body["emergency"]] == ["110", "119", "120", "96333", "12345"]


def test_a_utility_contact_names_a_kind_of_the_utility_agency(conn: Connection) -> None:
    catalog.sync_taxonomy(conn)
    with pytest.raises(published_contacts.InvalidContact, match="not a kind of utility"):
        published_contacts.set_contact(conn, agency="utility", kind="coal", person="x", phone="1")
    with pytest.raises(published_contacts.InvalidContact, match="only the utility agency"):
        published_contacts.set_contact(
            conn, agency="public_security", kind="gas", person="x", phone="1"
        )
