"""吹哨报到 on a real PostGIS: a town calls units to a joint enforcement, each gets a report-in
clock, confirms its arrival from the case's place (refused from afar with the distance), is
flagged when late, and is rated 1–5 by the town; the assessment counts both.

Hand-worked expectations:
* The clock (incidents/data/report_in.yaml, an ordinary case): 30 minutes of working time;
  office hours 08:30–12:00 and 13:30–17:30 on working days of the official calendar
  (incidents/deadlines.py). A call at 10:00 on Wednesday 2025-12-03 is due at 10:30 the same
  day; a call at 17:50 on Friday 2025-12-05 is outside office hours and counts from 08:30 of the
  next working day, Monday 2025-12-08: due 09:00; a call at 17:20 uses the 10 minutes left
  that day and 20 of the next morning (08:50); a call at 17:50 on Tuesday 2025-09-30 is followed
  by the National Day holiday (10-01..10-08, 国办发明电〔2024〕12号): due 09:00 on Thursday
  2025-10-09.
* Distance: the case is at (120.002, 30.002). A degree of latitude at 30°N on the WGS-84
  ellipsoid is M·π/180 with M = a(1−e²)/(1−e²·sin²30°)^1.5 = 6 351 379 m → 110 852 m, so a
  phone at (120.002, 30.0065), 0.0045° north, is 498.8 m away (outside 300 m) and one at
  (120.002, 30.0038), 0.0018° north, is 199.5 m away (inside).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from support import IN_P111, PASSWORD, app_client, file_report, type_of

from accounts.service import Principal, issue_token
from assessment.period import period
from assessment.report_in_figures import report_in_figures
from incidents import report_in, service
from incidents.exceptions import TaskNotFound, TooFarToReportIn, TransitionForbidden
from incidents.report_in import load_clocks

SH = ZoneInfo("Asia/Shanghai")
FAR = (120.002, 30.0065)  # 498.8 m north of the case
NEAR = (120.002, 30.0038)  # 199.5 m north of the case


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("called", "due"),
    [
        (at(2025, 12, 3, 10, 0), at(2025, 12, 3, 10, 30)),  # Wednesday, office hours
        (at(2025, 12, 5, 17, 50), at(2025, 12, 8, 9, 0)),  # Friday evening → Monday morning
        (at(2025, 12, 3, 17, 20), at(2025, 12, 4, 8, 50)),  # 10 min today, 20 min tomorrow
        (at(2025, 12, 3, 11, 50), at(2025, 12, 3, 13, 50)),  # lunch break not counted
        (at(2025, 9, 30, 17, 50), at(2025, 10, 9, 9, 0)),  # National Day holiday skipped
    ],
)
def test_report_in_deadline_in_working_time(called: datetime, due: datetime) -> None:
    report_by, complete_by, basis = load_clocks().due("ordinary", called)
    assert report_by == due
    assert complete_by > report_by
    assert "30分钟内报到" in basis


def test_emergency_clock_is_wall_clock() -> None:
    # An emergency (data: 15 calendar minutes) called at 23:00 on a Saturday: 23:15.
    report_by, _, _ = load_clocks().due("emergency", at(2025, 12, 6, 23, 0))
    assert report_by == at(2025, 12, 6, 23, 15)


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def joint_case(conn: Connection, world: dict) -> tuple[int, dict[str, int]]:
    """A case at P111 (town T1) for which town T1 calls urban management and the police."""
    code = type_of(conn, agency="urban_management", scope="enforcement")
    cid = int(file_report(conn, IN_P111, code)["id"])
    act(conn, world["dispatcher"], cid, "accept")
    act(conn, world["town_t1"], cid, "joint", parties=["urban_management", "public_security"])
    tasks = {c["party"]: c["task_id"] for c in report_in.case_clocks(conn, case_id=cid)}
    return cid, tasks


def called_at(conn: Connection, task_id: int, when: datetime, due: datetime) -> None:
    """Put a clock at a known call time (the action stamps the real clock's now)."""
    conn.execute(
        text("UPDATE task_response SET called_at = :c, report_due_at = :d WHERE task_id = :t"),
        {"c": when, "d": due, "t": task_id},
    )


def test_joint_call_starts_a_clock_per_called_unit(conn: Connection, world: dict) -> None:
    cid, tasks = joint_case(conn, world)
    assert set(tasks) == {"urban_management", "public_security"}
    clocks = report_in.case_clocks(conn, case_id=cid, principal=world["police_ps1"])
    for c in clocks:
        assert c["report_due_at"] > c["called_at"] and c["complete_due_at"] >= c["report_due_at"]
        assert c["state"] in ("waiting", "overdue") and c["reported_at"] is None
        # Only the police officer's own unit may report in; the town may rate.
        assert c["may_report_in"] is (c["party"] == "public_security")
        assert c["may_rate"] is False
    police = next(c for c in clocks if c["party"] == "public_security")
    assert police["unit_code"] == "PS1"  # the precinct of P111
    # The called units are told through the outbox's existing joint hook.
    sent = conn.execute(
        text("SELECT template FROM notify_message WHERE case_id = :c AND audience <> 'resident'"),
        {"c": cid},
    ).scalars()
    assert "unit_joint" in set(sent)


def test_arrival_inside_tolerance_accepted_outside_refused(conn: Connection, world: dict) -> None:
    cid, tasks = joint_case(conn, world)
    police, urban = world["police_ps1"], world["urban"]
    with pytest.raises(TooFarToReportIn) as far:
        report_in.report_in(
            conn, principal=police, task_id=tasks["public_security"],
            lon=FAR[0], lat=FAR[1], accuracy_m=20,
        )  # fmt: skip
    assert far.value.details["distance_m"] == pytest.approx(498.8, abs=1.0)
    assert "499 米" in far.value.message and "300 米" in far.value.message
    with pytest.raises(TooFarToReportIn, match="定位精度"):  # a fix too vague to tell
        report_in.report_in(
            conn, principal=police, task_id=tasks["public_security"],
            lon=NEAR[0], lat=NEAR[1], accuracy_m=800,
        )  # fmt: skip
    done = report_in.report_in(
        conn, principal=police, task_id=tasks["public_security"],
        lon=NEAR[0], lat=NEAR[1], accuracy_m=15,
    )  # fmt: skip
    assert done["reported_at"] is not None and done["report_distance_m"] == pytest.approx(
        199.5, abs=1.0
    )
    # GCJ-02 input (a domestic map app's position) is converted before measuring.
    from gis.coords import from_wgs84

    glon, glat = from_wgs84(NEAR[0], NEAR[1], "gcj02")
    ok = report_in.report_in(
        conn, principal=urban, task_id=tasks["urban_management"],
        lon=glon, lat=glat, crs="gcj02", accuracy_m=10,
    )  # fmt: skip
    assert ok["report_distance_m"] == pytest.approx(199.5, abs=1.0)
    events = service.events(conn, case_id=cid, principal=world["dispatcher"])
    assert [e["action"] for e in events].count("report_in") == 2


def test_only_the_called_unit_reports_in_and_only_the_town_rates(
    conn: Connection, world: dict
) -> None:
    _, tasks = joint_case(conn, world)
    urban_task = tasks["urban_management"]
    for who in ("police_ps1", "dispatcher", "town_t1", "community_c11"):
        with pytest.raises(TaskNotFound):
            report_in.report_in(
                conn, principal=world[who], task_id=urban_task,
                lon=NEAR[0], lat=NEAR[1], accuracy_m=10,
            )  # fmt: skip
    for who in ("urban", "police_ps1", "dispatcher", "town_t2", "community_c11"):
        with pytest.raises(TransitionForbidden):
            report_in.rate(conn, principal=world[who], task_id=urban_task, rating=4)
    rated = report_in.rate(conn, principal=world["town_t1"], task_id=urban_task, rating=4)
    assert rated["rating"] == 4


def test_late_report_in_flagged_and_counted_ratings_averaged(conn: Connection, world: dict) -> None:
    police, urban, t1 = world["police_ps1"], world["urban"], world["town_t1"]
    a, ta = joint_case(conn, world)
    b, tb = joint_case(conn, world)
    call, due = at(2025, 12, 3, 10, 0), at(2025, 12, 3, 10, 30)
    for t in (*ta.values(), *tb.values()):
        called_at(conn, t, call, due)

    def arrive(who: Principal, task: int, minute: int) -> dict[str, Any]:
        return report_in.report_in(
            conn, principal=who, task_id=task, lon=NEAR[0], lat=NEAR[1], accuracy_m=10,
            now=at(2025, 12, 3, 10, minute),
        )  # fmt: skip

    assert arrive(urban, ta["urban_management"], 20)["state"] == "on_time"
    assert arrive(urban, tb["urban_management"], 45)["state"] == "late"
    assert arrive(police, tb["public_security"], 29)["state"] == "on_time"
    # The police never reported in on case a: overdue, flagged for the dispatch map together
    # with urban management's late report-in on case b.
    flagged = report_in.late_report_ins(conn, principal=world["dispatcher"])
    mine = {(f["case_id"], f["party"]): f["state"] for f in flagged if f["case_id"] in (a, b)}
    assert mine == {(a, "public_security"): "overdue", (b, "urban_management"): "late"}
    assert report_in.late_report_ins(conn, principal=world["town_t2"]) == [
        f for f in report_in.late_report_ins(conn, principal=world["town_t2"])
        if f["town_code"] == "T2"
    ]  # fmt: skip
    with pytest.raises(TransitionForbidden):
        report_in.late_report_ins(conn, principal=urban)

    for task, stars in ((ta["urban_management"], 4), (tb["urban_management"], 5),
                        (ta["public_security"], 1), (tb["public_security"], 2)):  # fmt: skip
        report_in.rate(conn, principal=t1, task_id=task, rating=stars)
    report_in.rate(conn, principal=t1, task_id=tb["public_security"], rating=3)  # re-rated

    p = period(first=date(2025, 12, 1), last=date(2025, 12, 31), now=at(2026, 1, 1, 0, 0))
    figures = {r["party"]: r for r in report_in_figures(conn, p=p)}
    # urban management: 2 calls due, 1 on time, 1 late → 50 %; ratings 4 and 5 → 4.5.
    u = figures["urban_management"]
    assert (u["due"], u["on_time"], u["late"], u["missing"]) == (2, 1, 1, 0)
    assert u["on_time_rate"] == 0.5 and u["rating_avg"] == 4.5 and u["rated"] == 2
    # police (PS1): 2 calls due, 1 on time, 1 missing → 50 %; ratings 1 and 3 → 2.0.
    ps = figures["public_security"]
    assert (ps["due"], ps["on_time"], ps["late"], ps["missing"]) == (2, 1, 0, 1)
    assert ps["on_time_rate"] == 0.5 and ps["rating_avg"] == 2.0 and ps["unit_code"] == "PS1"


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def auth(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def test_http_report_in_rating_and_figures(
    conn: Connection, world: dict, client: TestClient
) -> None:
    cid, tasks = joint_case(conn, world)
    police = auth(conn, world["police_ps1"])
    url = f"/api/v1/tasks/{tasks['public_security']}/report-in"
    far = client.post(url, json={"lon": FAR[0], "lat": FAR[1], "accuracy": 12}, headers=police)
    assert far.status_code == 422, far.text
    body = far.json()
    assert body["code"] == "too_far_to_report_in" and "超出允许的 300 米" in body["message"]
    assert body["distance_m"] == pytest.approx(498.8, abs=1.0)
    other = client.post(
        f"/api/v1/tasks/{tasks['urban_management']}/report-in",
        json={"lon": NEAR[0], "lat": NEAR[1], "accuracy": 12},
        headers=police,
    )
    assert other.status_code == 404 and other.json()["code"] == "task_not_found"
    ok = client.post(url, json={"lon": NEAR[0], "lat": NEAR[1], "accuracy": 12}, headers=police)
    assert ok.status_code == 200 and ok.json()["reported_at"]
    again = client.post(url, json={"lon": NEAR[0], "lat": NEAR[1], "accuracy": 12}, headers=police)
    assert again.status_code == 422 and "已报到" in again.json()["message"]

    rate_url = f"/api/v1/tasks/{tasks['public_security']}/rating"
    assert client.post(rate_url, json={"rating": 5}, headers=police).status_code == 403
    t1 = auth(conn, world["town_t1"])
    assert client.post(rate_url, json={"rating": 6}, headers=t1).status_code == 422
    assert (
        client.post(rate_url, json={"rating": 5, "note": "到场快"}, headers=t1).json()["rating"]
        == 5
    )
    clocks = client.get(f"/api/v1/cases/{cid}/report-ins", headers=t1).json()
    assert {c["party"]: c["rating"] for c in clocks} == {
        "public_security": 5,
        "urban_management": None,
    }
    assert all(c["may_rate"] for c in clocks)
    figures = client.get("/api/v1/assessment/report-ins", headers=t1)
    assert figures.status_code == 200
    ps_row = next(u for u in figures.json()["units"] if u["party"] == "public_security")
    assert ps_row["rating_avg"] == 5.0 and ps_row["on_time"] >= 1
    client.post("/login", data={"username": "town_t1", "password": PASSWORD})
    page = client.get("/assessment")
    assert page.status_code == 200 and "报到按时率" in page.text
    assert 'data-testid="report-in-row" data-party="public_security"' in page.text
    assert client.get("/api/v1/assessment/report-ins", headers=police).status_code == 403
    late = client.get("/api/v1/report-ins/late", headers=auth(conn, world["dispatcher"]))
    assert late.status_code == 200 and isinstance(late.json(), list)
