"""Open311 GeoReport v2 over real HTTP (uvicorn + a database of its own).

Every JSON answer is validated against the GeoReport v2 JSON schemas kept in
``incidents/open311_schemas`` (see its README for where they come from); XML answers are parsed
and their element names checked.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4
from sqlalchemy import create_engine, text
from support import IN_P111, IN_T2, live_server, load_mini

from accounts.service import authenticate, create_api_key, create_user
from incidents import open311, service
from incidents.intake import Report, create_case
from jurisdictions import catalog
from shudi.pii import get_cipher

SHUDI = str(Path(sys.executable).with_name("shudi"))
SCHEMAS = Path(open311.__file__).parent / "open311_schemas"
PASSWORD = "correct horse battery"
PHONE, EMAIL, DEVICE = "13912345678", "zhang.san@example.com", "device-4711-xyz"
FIRST, LAST = "三丰", "张"
OUTSIDE = (121.5, 31.2)  # Shanghai: in China, outside the mini district

CHECKER = FormatChecker(formats=())


@CHECKER.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return "T" in value and datetime.fromisoformat(value).tzinfo is not None


@CHECKER.checks("uri")
def _uri(value: object) -> bool:
    parts = urlsplit(str(value))
    return bool(parts.scheme and parts.netloc)


DOCS = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
REGISTRY: Registry = Registry().with_resources(
    (name, DRAFT4.create_resource(doc)) for name, doc in DOCS.items()
)


def valid(schema: str, instance: Any) -> Any:
    validator = Draft4Validator(DOCS[schema], registry=REGISTRY, format_checker=CHECKER)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, problems
    return instance


def as_json(r: httpx.Response, schema: str, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return valid(schema, r.json())


def as_xml(r: httpx.Response, root: str, status: int = 200) -> ET.Element:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    el = ET.fromstring(r.content)
    assert el.tag == root
    return el


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    scratch = request.getfixturevalue("module_scratch_db_url")
    eng = create_engine(scratch)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
        key = create_api_key(conn, name="test client")
        urban = catalog.list_types(conn, reportable=True, agency="urban_management")[0]["code"]
        other = next(
            t["code"]
            for t in catalog.list_types(conn, reportable=True)
            if t["agency"] != "urban_management"
        )

        def case(where: tuple[float, float], code: str, **kw: Any) -> int:
            report = Report(lon=where[0], lat=where[1], type=code, channel="open311")
            return create_case(conn, report=report, **kw).id

        rejected = case(IN_T2, other)
        disp = authenticate(conn, username="disp", password=PASSWORD)
        service.transition(
            conn,
            case_id=rejected,
            principal=disp,
            action="reject",
            payload={"note": "内部：已电话联系举报人", "public_reply": "不属本机制受理范围"},
            if_match=1,
        )
        old = case(IN_P111, urban, now=datetime.now(UTC) - timedelta(days=200))
        hidden = case(IN_P111, urban)
        conn.execute(text("UPDATE case_file SET hidden = true WHERE id = :i"), {"i": hidden})
        for _ in range(101):  # more than a page can hold
            case(IN_T2, urban)
    eng.dispose()
    with live_server(scratch) as base:
        yield {
            "base": base,
            "api": f"{base}/open311/v2",
            "db": scratch,
            "key": key,
            "urban": urban,
            "other": other,
            "rejected": rejected,
            "old": old,
            "hidden": hidden,
        }


def post(w: dict[str, Any], fmt: str = "json", **over: Any) -> httpx.Response:
    form = {
        "api_key": w["key"],
        "jurisdiction_id": "shudi.example",
        "service_code": w["urban"],
        "lat": str(IN_P111[1]),
        "long": str(IN_P111[0]),
        "address_string": "金桂苑3幢楼顶",
        "description": "楼顶违章加建",
        "media_url": "https://img.example.com/p/1.jpg",
        "email": EMAIL,
        "phone": PHONE,
        "first_name": FIRST,
        "last_name": LAST,
        "device_id": DEVICE,
        "account_id": "acc-77",
        "attribute[FLOOR]": "6",
    } | over
    form = {k: v for k, v in form.items() if v is not None}
    return httpx.post(f"{w['api']}/requests.{fmt}", data=form, timeout=30)


@pytest.fixture(scope="module")
def filed(world: dict[str, Any]) -> dict[str, Any]:
    body = as_json(post(world), "post-response.json")
    assert len(body) == 1 and "token" not in body[0] and body[0]["account_id"] is None
    code = re.search(r"跟踪码 ([0-9A-Z]{12})", body[0]["service_notice"])
    assert code, body
    return {"id": body[0]["service_request_id"], "tracking_code": code.group(1)}


def test_discovery(world: dict[str, Any]) -> None:
    doc = as_json(httpx.get(f"{world['api']}/discovery.json"), "discovery.json")
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == world["api"] and endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = as_xml(httpx.get(f"{world['api']}/discovery.xml"), "discovery")
    assert root.findtext("endpoints/endpoint/url") == world["api"]
    formats = root.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == endpoint["formats"]
    assert root.findtext("key_service") and root.findtext("changeset")


def test_services(world: dict[str, Any]) -> None:
    api = world["api"]
    listed = as_json(httpx.get(f"{api}/services.json"), "services.json")
    types = httpx.get(f"{world['base']}/api/v1/violation-types", params={"reportable": True})
    assert {s["service_code"] for s in listed} == {t["code"] for t in types.json()}
    urban = next(s for s in listed if s["service_code"] == world["urban"])
    assert urban["group"] == "区城管局" and urban["type"] == "realtime"
    assert urban["metadata"] is False and "区城管局" in urban["description"]
    assert "," in urban["keywords"] or urban["keywords"]
    root = as_xml(httpx.get(f"{api}/services.xml"), "services")
    assert [s.findtext("service_code") for s in root.findall("service")] == [
        s["service_code"] for s in listed
    ]
    assert root.find("service/metadata").text == "false"  # type: ignore[union-attr]
    english = as_json(httpx.get(f"{api}/services.json", params={"lang": "en"}), "services.json")
    assert next(s for s in english if s["service_code"] == world["urban"])["group"] == (
        "District Urban Management Bureau"
    )
    definition = as_json(
        httpx.get(f"{api}/services/{world['urban']}.json"), "service-definition.json"
    )
    assert definition == {"service_code": world["urban"], "attributes": []}
    root = as_xml(httpx.get(f"{api}/services/{world['urban']}.xml"), "service_definition")
    assert root.findtext("service_code") == world["urban"]
    missing = as_json(httpx.get(f"{api}/services/no_such_type.json"), "errors.json", 404)
    assert missing[0]["code"] == 404
    as_xml(httpx.get(f"{api}/services.csv"), "errors", 404)


def test_services_at_a_point(world: dict[str, Any]) -> None:
    api = world["api"]
    everything = httpx.get(f"{api}/services.json").json()
    inside = httpx.get(f"{api}/services.json", params={"lat": IN_P111[1], "long": IN_P111[0]})
    assert as_json(inside, "services.json") == everything
    outside = httpx.get(f"{api}/services.json", params={"lat": OUTSIDE[1], "long": OUTSIDE[0]})
    assert as_json(outside, "services.json") == []
    root = as_xml(
        httpx.get(f"{api}/services.xml", params={"lat": OUTSIDE[1], "long": OUTSIDE[0]}),
        "services",
    )
    assert list(root) == []
    half = httpx.get(f"{api}/services.json", params={"lat": IN_P111[1]})
    assert as_json(half, "errors.json", 400)[0]["code"] == 400


def _count(w: dict[str, Any]) -> int:
    eng = create_engine(w["db"])
    with eng.connect() as conn:
        n = int(conn.execute(text("SELECT count(*) FROM case_file")).scalar_one())
    eng.dispose()
    return n


def test_post_refusals(world: dict[str, Any]) -> None:
    before = _count(world)
    for key in (None, "not-a-key"):
        body = as_json(post(world, api_key=key), "errors.json", 403)
        assert body[0]["code"] == 403 and "api_key" in body[0]["description"]
    root = as_xml(post(world, "xml", api_key=None), "errors", 403)
    assert root.findtext("error/code") == "403" and root.findtext("error/description")
    unknown = as_json(post(world, service_code="pothole"), "errors.json", 400)
    assert "pothole" in unknown[0]["description"]
    address_only = as_json(post(world, lat=None, long=None), "errors.json", 400)
    assert "lat and long" in address_only[0]["description"]
    as_json(post(world, lat=None), "errors.json", 400)
    as_json(post(world, description="长" * 4001), "errors.json", 400)
    as_json(post(world, media_url="javascript:alert(1)"), "errors.json", 400)
    outside = post(world, lat=str(OUTSIDE[1]), long=str(OUTSIDE[0]))
    assert "outside the service area" in as_json(outside, "errors.json", 400)[0]["description"]
    assert _count(world) == before


def test_post_then_get(world: dict[str, Any], filed: dict[str, Any]) -> None:
    api, rid = world["api"], filed["id"]
    assert rid.isdigit()
    (req,) = as_json(httpx.get(f"{api}/requests/{rid}.json"), "requests.json")
    assert req["service_request_id"] == rid and req["status"] == "open"
    assert req["service_code"] == world["urban"] and req["agency_responsible"]
    assert req["description"] == "楼顶违章加建" and req["address"] == "金桂苑3幢楼顶"
    assert req["media_url"] == "https://img.example.com/p/1.jpg"
    assert (req["long"], req["lat"]) == IN_P111
    assert req["requested_datetime"].endswith("+08:00")
    assert req["expected_datetime"].endswith("+08:00")
    assert "extended_attributes" not in req
    root = as_xml(httpx.get(f"{api}/requests/{rid}.xml"), "service_requests")
    (item,) = root.findall("request")
    assert item.findtext("service_request_id") == rid and item.findtext("status") == "open"
    assert item.findtext("agency_responsible") == req["agency_responsible"]
    assert item.findtext("long") == str(IN_P111[0])
    assert as_json(httpx.get(f"{api}/requests/999999.json"), "errors.json", 404)[0]["code"] == 404
    as_xml(httpx.get(f"{api}/requests/999999.xml"), "errors", 404)
    as_xml(httpx.get(f"{api}/requests/abc.xml"), "errors", 404)
    posted = as_xml(post(world, "xml", description="XML 客户端"), "service_requests")
    assert posted.findtext("request/service_request_id", "").isdigit()
    assert posted.find("request/account_id") is not None
    eng = create_engine(world["db"])
    with eng.connect() as conn:  # the reporter is stored, on the open311 channel
        row = conn.execute(
            text("""SELECT c.channel, r.contact_name, r.phone FROM case_file c
                    JOIN case_reporter r ON r.case_id = c.id WHERE c.id = :i"""),
            {"i": int(rid)},
        ).one()
    eng.dispose()
    cipher = get_cipher()  # sealed at rest
    assert row.channel == "open311" and PHONE not in row.phone
    assert cipher.open(row.contact_name, column="contact_name") == LAST + FIRST
    assert cipher.open(row.phone, column="phone") == PHONE


def ids(r: httpx.Response) -> list[str]:
    return [x["service_request_id"] for x in as_json(r, "requests.json")]


def test_get_requests_filters(world: dict[str, Any], filed: dict[str, Any]) -> None:
    url = f"{world['api']}/requests.json"
    rejected, old, hidden = (str(world[k]) for k in ("rejected", "old", "hidden"))
    page = ids(httpx.get(url))
    assert len(page) == 50 and filed["id"] in page  # 50 by default, newest first
    assert [int(i) for i in page] == sorted((int(i) for i in page), reverse=True)
    capped = ids(httpx.get(url, params={"page_size": 1000}))
    assert len(capped) == 100
    second = ids(httpx.get(url, params={"page_size": 100, "page": 2}))
    assert second and not set(second) & set(capped)
    everything = capped + second
    assert rejected in everything and old not in everything and hidden not in everything
    closed = as_json(httpx.get(url, params={"status": "closed"}), "requests.json")
    assert [c["service_request_id"] for c in closed] == [rejected]
    assert closed[0]["status"] == "closed" and "不属本机制受理范围" in closed[0]["status_notes"]
    opened = ids(httpx.get(url, params={"status": "open", "page_size": 100}))
    assert rejected not in opened
    both = ids(httpx.get(url, params=[("status", "open"), ("status", "closed")]))
    assert len(both) == 50
    other = ids(httpx.get(url, params={"service_code": world["other"]}))
    assert other == [rejected]
    start = datetime.now(UTC) - timedelta(days=230)
    window = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=60)).isoformat()}
    assert ids(httpx.get(url, params=window)) == [old]
    too_long = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00+08:00"}
    err = as_json(httpx.get(url, params=too_long), "errors.json", 400)
    assert "90 days" in err[0]["description"]
    as_xml(httpx.get(f"{world['api']}/requests.xml", params=too_long), "errors", 400)
    for bad in ({"start_date": "yesterday"}, {"status": "pending"}, {"page_size": "0"}):
        as_json(httpx.get(url, params=bad), "errors.json", 400)
    by_id = ids(httpx.get(url, params={"service_request_id": f"{old},{hidden},x,{filed['id']}"}))
    assert sorted(by_id) == sorted([old, filed["id"]])  # ids override the date window
    three = httpx.get(f"{world['api']}/requests.xml", params={"page_size": 3})
    root = as_xml(three, "service_requests")
    assert len(root.findall("request")) == 3


def test_extensions(world: dict[str, Any]) -> None:
    url = f"{world['api']}/requests.json"
    (req,) = as_json(
        httpx.get(url, params={"service_request_id": world["rejected"], "extensions": "true"}),
        "requests.json",
    )
    ext = req["extended_attributes"]
    assert ext["detailed_status"] == "rejected" and ext["handler"] == req["agency_responsible"]
    assert [n["type"] for n in ext["notes"]] == ["report", "reject"]
    assert ext["notes"][1]["description"] == "不属本机制受理范围"  # the public reply
    assert "已电话联系举报人" not in str(req)  # never the staff's note
    assert all(n["datetime"].endswith("+08:00") for n in ext["notes"])
    root = as_xml(
        httpx.get(
            f"{world['api']}/requests/{world['rejected']}.xml", params={"extensions": "true"}
        ),
        "service_requests",
    )
    assert root.findtext("request/extended_attributes/detailed_status") == "rejected"
    assert len(root.findall("request/extended_attributes/notes/note")) == 2


def test_tokens(world: dict[str, Any], filed: dict[str, Any]) -> None:
    api, code = world["api"], filed["tracking_code"]
    body = as_json(httpx.get(f"{api}/tokens/{code}.json"), "token-response.json")
    assert body == [{"service_request_id": filed["id"], "token": code}]
    root = as_xml(httpx.get(f"{api}/tokens/{code.lower()}.xml"), "service_requests")
    assert root.findtext("request/service_request_id") == filed["id"]
    assert as_json(httpx.get(f"{api}/tokens/NOPE.json"), "errors.json", 404)[0]["code"] == 404


def test_unknown_resources(world: dict[str, Any]) -> None:
    api = world["api"]
    assert as_json(httpx.get(f"{api}/nothing.json"), "errors.json", 404)[0]["code"] == 404
    as_xml(httpx.get(f"{api}/requests.txt"), "errors", 404)
    as_xml(httpx.post(f"{api}/services.xml"), "errors", 404)


def test_no_personal_data_anywhere(world: dict[str, Any], filed: dict[str, Any]) -> None:
    api, rid = world["api"], filed["id"]
    asks: list[tuple[str, dict[str, str]]] = [
        ("requests", {}),
        ("requests", {"extensions": "true", "page_size": "100"}),
        ("requests", {"service_request_id": rid, "extensions": "true"}),
        (f"requests/{rid}", {"extensions": "true"}),
        ("services", {}),
        ("discovery", {}),
    ]
    bodies = [
        httpx.get(f"{api}/{path}.{fmt}", params=params).text
        for fmt in ("json", "xml")
        for path, params in asks
    ]
    assert any(rid in b for b in bodies)
    secrets = (PHONE, EMAIL, DEVICE, FIRST, LAST + FIRST, "acc-77", filed["tracking_code"])
    for body in bodies:
        for secret in secrets:
            assert secret not in body, (secret, body[:300])
    answer = post(world).text  # the POST answer tells the tracking code, nothing personal
    assert all(s not in answer for s in secrets if s != filed["tracking_code"])
