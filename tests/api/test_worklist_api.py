"""The staff's refusal report and the work lists over HTTP (the app in-process on the test's
transaction, real PostGIS): POST /api/v1/staff/refusals (JSON and multipart with a photo),
GET /api/v1/tasks, POST /api/v1/tasks/{id}/done, and the errors a caller gets."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Connection
from support import IN_P111, IN_P112, app_client

from accounts.service import issue_token


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def auth(conn: Connection, world: dict, name: str) -> dict[str, str]:
    token, _ = issue_token(conn, principal=world[name])
    return {"Authorization": f"Bearer {token}"}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_refusal_reaches_the_town_and_the_department(
    conn: Connection, world: dict, client: TestClient
) -> None:
    company = auth(conn, world, "company_jia")
    r = client.post(
        "/api/v1/staff/refusals",
        headers=company,
        data={
            "lon": str(IN_P111[0]),
            "lat": str(IN_P111[1]),
            "type": "illegal_construction",
            "said": "劝阻停止搭建，业主拒绝",
            "dissuaded_at": "2026-12-01T09:30:00+08:00",
        },
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["dissuasion"]["photos"] == 1 and case["dissuasion"]["at"].startswith("2026-12-01")
    for name in ("town_t1", "urban"):
        listed = client.get("/api/v1/tasks", headers=auth(conn, world, name)).json()
        (task,) = [t for t in listed if t["case_id"] == case["id"]]
        assert task["kind"] == "refusal_report" and task["note"] == "劝阻停止搭建，业主拒绝"
        assert "phone" not in task and "contact_name" not in task
    urban = auth(conn, world, "urban")
    task_id = next(
        t["id"]
        for t in client.get("/api/v1/tasks", headers=urban).json()
        if t["case_id"] == case["id"]
    )
    other = client.post(
        f"/api/v1/tasks/{task_id}/done", headers=auth(conn, world, "town_t2"), json={}
    )
    assert other.status_code == 404 and other.json()["code"] == "task_not_found"
    done = client.post(f"/api/v1/tasks/{task_id}/done", headers=urban, json={"note": "已立案"})
    assert done.status_code == 200 and done.json()["done"] is True
    assert client.get("/api/v1/tasks", headers=urban).json() == []
    every = client.get("/api/v1/tasks", headers=urban, params={"include_done": True}).json()
    assert [t["id"] for t in every] == [task_id]
    # the company follows the case in its estate: place, type, status — nobody's identity
    seen = client.get(f"/api/v1/cases/{case['id']}", headers=company).json()
    assert seen["type_code"] == "illegal_construction" and seen["status"] == "reported"
    assert "description" not in seen and "reporters" not in seen


def test_refusal_errors(conn: Connection, world: dict, client: TestClient) -> None:
    body = {
        "lon": IN_P112[0],
        "lat": IN_P112[1],
        "type": "illegal_construction",
        "said": "劝阻无效",
    }
    r = client.post("/api/v1/staff/refusals", headers=auth(conn, world, "company_jia"), json=body)
    assert r.status_code == 403 and r.json()["code"] == "not_your_place"
    assert "物业管理区域" in r.json()["message"]
    r = client.post("/api/v1/staff/refusals", headers=auth(conn, world, "urban"), json=body)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = client.post(
        "/api/v1/staff/refusals",
        headers=auth(conn, world, "community_c11"),
        json=body | {"said": ""},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_report"
    r = client.post("/api/v1/staff/refusals", json=body)
    assert r.status_code == 401
    r = client.get("/api/v1/tasks")
    assert r.status_code == 401
