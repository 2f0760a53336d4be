"""Meetings over HTTP (the app on the test's own connection) and their exports."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Connection

from accounts.router import SESSION_COOKIE
from accounts.service import Principal, issue_token
from api.app import create_app
from meetings import agenda, minutes, service
from meetings.papers import meeting_document
from shudi.database import db_connection


@pytest.fixture
def client(conn: Connection) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[db_connection] = lambda: conn
    yield TestClient(app)


def auth(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ttl = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def test_prepare_record_and_follow_up_over_http(
    client: TestClient, conn: Connection, planted: dict, world: dict
) -> None:
    t1 = auth(conn, world["town_t1"])
    r = client.post("/api/v1/meetings", json={"town": "T1"}, headers=t1)
    assert r.status_code == 201, r.text
    meeting = r.json()
    kinds = {i["kind"] for i in meeting["items"]}
    assert {"overdue", "joint", "referred_repeatedly", "dispute", "repeat_location"} <= kinds
    agenda_json = client.get(f"/api/v1/meetings/{meeting['id']}/agenda", headers=t1).json()
    assert set(agenda_json) == {"town", "month", "items", "figures"}
    overdue = next(i for i in meeting["items"] if i["kind"] == "overdue")
    body = {
        "held_on": service.today().isoformat(),
        "attendees": [{"party": "town_government", "unit": "甲街道办事处"}],
        "decisions": [
            {
                "item_id": overdue["id"],
                "decision": "限期办结",
                "actions": [
                    {
                        "title": "限期办结",
                        "owner_kind": "agency",
                        "owner_code": "housing_service_center",
                        "due_on": service.today().isoformat(),
                    }
                ],
            }
        ],
    }
    r = client.post(f"/api/v1/meetings/{meeting['id']}/record", json=body, headers=t1)
    assert r.status_code == 200, r.text
    action = next(i for i in r.json()["items"] if i["kind"] == "overdue")["actions"][0]
    r = client.post(f"/api/v1/meetings/{meeting['id']}/record", json=body, headers=t1)
    assert r.status_code == 409 and r.json()["code"] == "meeting_already_held"
    events = client.get(
        f"/api/v1/cases/{planted['overdue']}/events", headers=auth(conn, world["dispatcher"])
    ).json()
    assert events[-1]["action"] == "meeting_action"
    r = client.post(f"/api/v1/meetings/actions/{action['id']}/done", json={}, headers=t1)
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/meetings", json={"town": "T1", "kind": "extraordinary", "topic": "x"}, headers=t1
    )
    assert r.status_code == 201 and r.json()["kind"] == "extraordinary"


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("town_t2", {"town": "T1"}, 403, "forbidden"),
        ("dispatcher", {"town": "T1"}, 403, "forbidden"),
        ("planner", {"town": "T1"}, 403, "forbidden"),
        ("admin", {"town": "T9"}, 404, "unknown_town"),
        ("admin", {"town": "T1", "month": "2026-13"}, 422, "invalid_meeting"),
        ("admin", {"town": "T1", "kind": "weekly"}, 422, "invalid_request"),
    ],
)
def test_prepare_errors(
    client: TestClient,
    conn: Connection,
    world: dict,
    who: str,
    body: dict,
    status: int,
    code: str,
) -> None:
    r = client.post("/api/v1/meetings", json=body, headers=auth(conn, world[who]))
    assert r.status_code == status and r.json()["code"] == code, r.text


def test_reading_is_scoped(client: TestClient, conn: Connection, world: dict) -> None:
    meeting = service.prepare(conn, town="T1", month=None, principal=None)
    url = f"/api/v1/meetings/{meeting['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth(conn, world["dispatcher"])).status_code == 200
    r = client.get(url, headers=auth(conn, world["town_t2"]))
    assert r.status_code == 404 and r.json()["code"] == "meeting_not_found"
    assert client.get(url, headers=auth(conn, world["planner"])).status_code == 403
    assert (
        client.get("/api/v1/meetings/999999", headers=auth(conn, world["admin"])).status_code == 404
    )


def test_exports_open(client: TestClient, conn: Connection, planted: dict, world: dict) -> None:
    meeting = service.prepare(
        conn, town="T1", month=None, principal=None, hotspot=agenda.community_hotspots
    )
    t1 = auth(conn, world["town_t1"])
    url = f"/api/v1/meetings/{meeting['id']}"
    r = client.get(url, params={"format": "xlsx"}, headers=t1)
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb["议题"].iter_rows(values_only=True))
    assert rows[0] == ("序号", "类别", "议题", "关联案件", "决定")
    assert [row[1] for row in rows[1:]] == [
        "超期未办结",
        "联合执法",
        "多次转办",
        "未解决纠纷",
        "重复发生",
        "热点区域",
    ]
    assert rows[1][3] == f"#{planted['overdue']}"
    assert "各社区数据" in wb.sheetnames and "甲街道物业管理联席会议议程" in str(
        wb["说明"]["A1"].value
    )

    r = client.get(url, params={"format": "pdf"}, headers=t1)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(r.content))
    assert len(pdf.pages) >= 1
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "联席会议" in text and "超期未办结" in text

    r = client.get(url, params={"format": "html"}, headers=t1)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "甲街道物业管理联席会议议程" in r.text and "多次转办" in r.text

    # the page, with the session cookie; a visitor is sent to log in
    page = client.get(f"/meetings/{meeting['id']}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    token = t1["Authorization"].split()[1]
    client.cookies.set(SESSION_COOKIE, token)
    page = client.get(f"/meetings/{meeting['id']}")
    assert page.status_code == 200 and "议题" in page.text


def test_minutes_document_lists_attendees_and_actions(
    conn: Connection, planted: dict, world: dict
) -> None:
    t1 = world["town_t1"]
    meeting = service.prepare(conn, town="T1", month=None, principal=t1)
    first = meeting["items"][0]
    held = minutes.record(
        conn,
        meeting_id=meeting["id"],
        principal=t1,
        held_on=service.today(),
        attendees=[{"party": "owners_committee", "unit": "金桂苑业委会", "name": "李"}],
        decisions=[
            {
                "item_id": first["id"],
                "decision": "决定",
                "actions": [
                    {
                        "title": "清理",
                        "owner_kind": "town",
                        "owner_code": "T1",
                        "due_on": service.today(),
                    }
                ],
            }
        ],
    )
    doc = meeting_document(held)
    assert doc.title == "甲街道物业管理联席会议纪要"
    tables = {getattr(b, "title", ""): b for b in doc.blocks}
    assert tables["参会人员"].rows == [["业主委员会（业主代表）", "金桂苑业委会", "李"]]  # type: ignore[union-attr]
    assert tables["决定事项"].rows[0][1:4] == ["清理", "甲街道", service.today()]  # type: ignore[union-attr]
