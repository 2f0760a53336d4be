"""The assessment over HTTP: roles, JSON, exports, the audit list and the dashboard pages."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pypdf
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Connection
from support import app_client

from accounts.router import SESSION_COOKIE
from accounts.service import Principal, issue_token
from webmap.assets import remote_urls

PERIOD = {"from": "2026-01-01", "to": "2026-02-28"}


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def auth(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def session(conn: Connection, who: Principal) -> dict[str, str]:
    """The cookie pages are opened with (as after /login)."""
    token, _ = issue_token(conn, principal=who)
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def test_only_coordinators_and_admins(
    conn: Connection, world: dict, client: TestClient, history: dict
) -> None:
    assert client.get("/api/v1/assessment", params=PERIOD).status_code == 401
    for name in ("dispatcher", "police_ps1", "community_c11", "company_jia", "planner"):
        r = client.get("/api/v1/assessment", params=PERIOD, headers=auth(conn, world[name]))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", name
        r = client.get(
            "/api/v1/assessment/cases",
            params=PERIOD | {"kind": "town", "unit": "T1", "figure": "received"},
            headers=auth(conn, world[name]),
        )
        assert r.status_code == 403, name
    for name in ("town_t1", "admin"):
        r = client.get("/api/v1/assessment", params=PERIOD, headers=auth(conn, world[name]))
        assert r.status_code == 200, name


def test_json_and_its_audit_urls(
    conn: Connection, world: dict, client: TestClient, history: dict
) -> None:
    headers = auth(conn, world["admin"])
    body = client.get("/api/v1/assessment", params=PERIOD, headers=headers).json()
    assert body["from"] == "2026-01-01" and body["to"] == "2026-02-28"
    assert body["as_of"] == "2026-03-01T00:00:00+08:00"
    t1 = next(u for u in body["units"] if u["kind"] == "town" and u["unit"] == "T1")
    assert t1["received"] == 5 and t1["on_time_rate"] == 0.75 and t1["rework_rate"] == 0.25
    assert t1["satisfaction"] == 0.5 and t1["rank"] == 1
    assert "按期办结率" in body["definitions"]["on_time_rate"]
    url = t1["cases_url"].format(figure="resolved_on_time")
    listed = client.get(url, headers=headers).json()
    assert listed["case_ids"] == sorted(history[k] for k in "ACF")
    kinds = {u["kind"] for u in body["units"]}
    assert kinds == {"agency", "agency_unit", "town"}
    # a town coordinator sees every unit's figures, but only its own town's case ids
    mine = client.get(url, headers=auth(conn, world["town_t1"])).json()["case_ids"]
    assert mine == listed["case_ids"]
    other = client.get(url, headers=auth(conn, world["town_t2"])).json()["case_ids"]
    assert other == []


def test_bad_requests_are_json_errors(conn: Connection, world: dict, client: TestClient) -> None:
    headers = auth(conn, world["admin"])
    reversed_ = client.get(
        "/api/v1/assessment", params={"from": "2026-03-01", "to": "2026-01-01"}, headers=headers
    )
    assert reversed_.status_code == 422 and reversed_.json()["code"] == "invalid_period"
    bad_date = client.get("/api/v1/assessment", params={"from": "2026-13-01"}, headers=headers)
    assert bad_date.status_code == 422 and bad_date.json()["code"] == "invalid_request"
    bad_format = client.get("/api/v1/assessment", params={"format": "doc"}, headers=headers)
    assert bad_format.status_code == 422
    figure = client.get(
        "/api/v1/assessment/cases",
        params={"kind": "town", "unit": "T1", "figure": "nonsense"},
        headers=headers,
    )
    assert figure.status_code == 422 and figure.json()["code"] == "unknown_figure"


def test_exports_open(conn: Connection, world: dict, client: TestClient, history: dict) -> None:
    headers = auth(conn, world["town_t1"])
    x = client.get("/api/v1/assessment", params=PERIOD | {"format": "xlsx"}, headers=headers)
    assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(x.content))
    towns = wb["镇_街道排名"]
    header = [c.value for c in towns[1]]
    assert header[:3] == ["名次", "单位", "受理"]
    rows = {r[1]: r for r in towns.iter_rows(min_row=2, values_only=True)}
    assert rows["甲街道"][2] == 5 and rows["甲街道"][header.index("按期办结率%")] == 75.0
    assert "部门派出单位排名" in wb.sheetnames and "指标定义" in wb.sheetnames
    pdf = client.get("/api/v1/assessment", params=PERIOD | {"format": "pdf"}, headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2
    assert "物业管理执法联动工作考核" in text and "甲街道" in text and "西派出所" in text


def test_dashboard_and_map_pages(
    conn: Connection, world: dict, client: TestClient, history: dict
) -> None:
    anonymous = client.get("/assessment", params=PERIOD, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    denied = client.get("/assessment", params=PERIOD, headers=session(conn, world["dispatcher"]))
    assert denied.status_code == 403 and "无权查看考核" in denied.text
    headers = session(conn, world["admin"])
    page = client.get("/assessment", params=PERIOD, headers=headers)
    assert page.status_code == 200
    html = page.text
    assert "甲街道" in html and "按期办结率" in html and html.count("<svg") == 3
    assert "/assessment/map?from=2026-01-01&amp;to=2026-02-28" in html
    assert not remote_urls(html)
    casemap = client.get("/assessment/map", params=PERIOD, headers=headers)
    assert casemap.status_code == 200
    assert not remote_urls(casemap.text)  # Leaflet and plugins from /static/vendor
    text = casemap.text.encode().decode("unicode_escape")  # layer names are JS-escaped
    assert "西派出所（3）" in text and "甲街道（5）" in text and "区公安局（4）" in text
    assert "120.002" in casemap.text and "120.0020001" not in casemap.text
