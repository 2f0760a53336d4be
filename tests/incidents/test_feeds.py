"""The map feeds (``incidents/feeds.py``): the compact live feed of the dispatch map, beside the
GeoJSON feed and the case list, under every role's visibility."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from support import IN_P111, IN_P112, IN_T2, app_client, file_report, type_of

from accounts.models import Role
from accounts.service import Principal, issue_token
from incidents import access, feeds, service


def rows(feed: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The feed's columns back into one dict per case, codes decoded."""
    cols, keys = feed["cases"], feed["keys"]
    out = {}
    for i in range(feed["count"]):
        row = {name: cols[name][i] for name in feeds.MAP_COLUMNS}
        for name in feeds.CODED:
            row[name] = keys[name][row[name]]
        out[row["id"]] = row
    return out


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = conn.execute(
        text("SELECT version FROM case_file WHERE id = :i"), {"i": case_id}
    ).scalar_one()
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


@pytest.fixture
def cases(conn: Connection, world: dict[str, Principal]) -> dict[str, int]:
    return {
        "police": file_report(conn, IN_T2, type_of(conn, agency="public_security"))["id"],
        "company": file_report(conn, IN_P111, type_of(conn, scope="property_service"))["id"],
        "street": file_report(conn, IN_P112, type_of(conn, agency="urban_management"))["id"],
    }


def test_every_role_sees_on_the_map_what_it_sees_in_the_list(
    conn: Connection, world: dict[str, Principal], cases: dict[str, int]
) -> None:
    seen = 0
    for name, who in world.items():
        feed = feeds.map_feed(conn, principal=who)
        listed = {c["id"] for c in service.list_cases(conn, principal=who, limit=500)["items"]}
        geo = orjson.loads(feeds.cases_geojson(conn, principal=who))
        assert set(rows(feed)) == listed == {f["id"] for f in geo["features"]}, name
        assert feed["gone"] == [] and not feed["truncated"]
        seen += len(listed)
    assert set(rows(feeds.map_feed(conn, principal=world["dispatcher"]))) == set(cases.values())
    assert rows(feeds.map_feed(conn, principal=world["planner"])) == {}
    assert set(rows(feeds.map_feed(conn, principal=world["police_ps2"]))) == {cases["police"]}
    assert seen > len(cases)  # several roles see some


def test_compact_rows_carry_what_the_map_needs_and_no_personal_data(
    conn: Connection, world: dict[str, Principal], cases: dict[str, int]
) -> None:
    d = world["dispatcher"]
    feed = feeds.map_feed(conn, principal=d)
    assert list(feed["cases"]) == list(feeds.MAP_COLUMNS)
    row = rows(feed)[cases["police"]]
    case = service.get_case(conn, case_id=cases["police"], principal=d)
    assert [row["lon"], row["lat"]] == [round(IN_T2[0], 5), round(IN_T2[1], 5)]
    assert row["status"] == "reported" and row["agency"] == case["handler_party"]
    assert row["type"] == case["type_code"] and row["town"] == "T2"
    assert row["due"] == int(case["due_at"].timestamp()) and row["overdue"] == 0
    assert row["version"] == case["version"]
    body = orjson.dumps(feed).decode()
    assert "13800000000" not in body and "张三" not in body and "测试" not in body
    assert feed["now"].startswith("x:")  # the cursor to pass as the next `since`


def test_overdue_and_rounding_follow_the_rules(
    conn: Connection,
    world: dict[str, Principal],
    cases: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn.execute(
        text("UPDATE case_file SET due_at = now() - interval '1 hour' WHERE id = :i"),
        {"i": cases["street"]},
    )
    d = world["dispatcher"]
    assert rows(feeds.map_feed(conn, principal=d))[cases["street"]]["overdue"] == 1
    monkeypatch.setitem(access.COORDINATE_DIGITS, Role.dispatcher, 2)
    row = rows(feeds.map_feed(conn, principal=d))[cases["police"]]
    assert [row["lon"], row["lat"]] == [round(IN_T2[0], 2), round(IN_T2[1], 2)]


def test_since_brings_changes_and_the_ids_that_leave(
    conn: Connection, world: dict[str, Principal], cases: dict[str, int]
) -> None:
    d = world["dispatcher"]
    mark = feeds.map_feed(conn, principal=d)["now"]
    conn.execute(text("UPDATE case_file SET updated_at = now() - interval '1 hour'"))
    act(conn, d, cases["street"], "reject", note="不属于受理范围")
    act(conn, d, cases["police"], "accept")
    act(conn, d, cases["company"], "hide", note="不实举报")
    changes = feeds.map_feed(conn, principal=d, since=mark)
    assert set(changes["gone"]) == {cases["street"]}
    # hidden from public views, not from the staff's map (nor their list)
    assert {i: r["status"] for i, r in rows(changes).items()} == {
        cases["police"]: "accepted",
        cases["company"]: "reported",
    }
    assert set(rows(feeds.map_feed(conn, principal=d))) == {cases["police"], cases["company"]}
    # the town coordinator of T2 hears of its own case only
    town = feeds.map_feed(conn, principal=world["town_t2"], since=mark)
    assert set(rows(town)) == {cases["police"]} and town["gone"] == []


def test_a_capped_answer_says_so(
    conn: Connection, world: dict[str, Principal], cases: dict[str, int]
) -> None:
    feed = feeds.map_feed(conn, principal=world["dispatcher"], cap=2)
    assert feed["truncated"] and feed["count"] == 2
    assert all(len(v) == 2 for v in feed["cases"].values())
    bbox = (IN_T2[0] - 0.001, IN_T2[1] - 0.001, IN_T2[0] + 0.001, IN_T2[1] + 0.001)
    near = feeds.map_feed(conn, principal=world["dispatcher"], bbox=bbox)
    assert set(rows(near)) == {cases["police"]} and not near["truncated"]


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def test_feed_route(
    conn: Connection, world: dict[str, Principal], cases: dict[str, int], client: TestClient
) -> None:
    assert client.get("/api/v1/cases/feed").status_code == 401
    token, _ = issue_token(conn, principal=world["town_t1"])
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/cases/feed", headers=auth)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert set(rows(r.json())) == {cases["company"], cases["street"]}
    later = client.get("/api/v1/cases/feed", params={"since": r.json()["now"]}, headers=auth)
    assert later.status_code == 200 and "count" in later.json()
    for since in ("2026-11-25T10:00:00+08:00", "x:1"):  # a time with its offset; a cursor
        ok = client.get("/api/v1/cases/feed", params={"since": since}, headers=auth)
        assert ok.status_code == 200, since
    for since in ("yesterday", "2026-11-25T10:00:00", "x:abc"):
        wrong = client.get("/api/v1/cases/feed", params={"since": since}, headers=auth)
        assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_since", since
    bad = client.get("/api/v1/cases/feed", params={"bbox": "30,120,31,121"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_coordinates"
