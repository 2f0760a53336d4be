"""The assessment's figures against values worked out by hand from the history in conftest.py
(its docstring tells the story of each case)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection

from assessment import service
from assessment.exceptions import InvalidPeriod, UnknownFigure
from assessment.period import Period
from assessment.period import period as make_period

JAN_FEB = make_period(first=date(2026, 1, 1), last=date(2026, 2, 28))
JAN = make_period(first=date(2026, 1, 1), last=date(2026, 1, 31))


def units(conn: Connection, p: Period) -> dict[tuple[str, str], dict[str, Any]]:
    return {(u["kind"], u["unit"]): u for u in service.assess(conn, p=p)["units"]}


def pick(unit: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: unit[n] for n in names}


COUNTS = (
    "received",
    "rejected",
    "response_due",
    "responded_on_time",
    "resolution_due",
    "resolved",
    "resolved_on_time",
    "resolved_late",
    "overdue",
    "open",
    "ever_resolved",
    "reworked",
    "rated",
    "satisfied",
    "referred_in",
    "referred_out",
    "referred_correct",
    "referred_wrong",
    "joint_led",
    "joint_joined",
    "actions_due",
    "actions_on_time",
)


def counts(*values: int) -> dict[str, int]:
    return dict(zip(COUNTS, values, strict=True))


def test_agencies_units_and_towns_over_two_months(conn: Connection, history: dict) -> None:
    got = units(conn, JAN_FEB)
    # A, B, C, D: A and C on time; B responded and resolved late and was reworked; D overdue
    assert pick(got[("agency", "public_security")], *COUNTS) == counts(
        4, 0, 4, 2, 4, 3, 2, 1, 1, 1, 3, 1, 2, 1, 1, 1, 0, 1, 0, 1, 1, 1
    )
    police = got[("agency", "public_security")]
    assert police["name"] == "区公安局"
    assert police["on_time_rate"] == 0.5 and police["response_rate"] == 0.5
    assert police["rework_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert police["satisfaction"] == 0.5 and police["referral_accuracy"] == 0.0
    assert police["action_on_time_rate"] == 1.0
    # PS1: A, B, C; joined F's joint enforcement; its meeting action was done late
    assert pick(got[("agency_unit", "PS1")], *COUNTS) == counts(
        3, 0, 3, 2, 3, 3, 2, 1, 0, 0, 3, 1, 2, 1, 1, 1, 0, 1, 0, 1, 1, 0
    )
    assert got[("agency_unit", "PS1")]["agency"] == "public_security"
    assert got[("agency_unit", "PS1")]["name"] == "西派出所"
    ps2 = got[("agency_unit", "PS2")]
    assert pick(ps2, "received", "overdue", "on_time_rate", "response_rate") == {
        "received": 1,
        "overdue": 1,
        "on_time_rate": 0.0,
        "response_rate": 0.0,
    }
    # city management: E rejected, F led jointly and on time; its referral of C was right
    assert pick(got[("agency", "urban_management")], *COUNTS) == counts(
        2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0
    )
    assert got[("agency", "urban_management")]["referral_accuracy"] == 1.0
    assert ("agency_unit", "") not in got  # no field unit when the handler has none
    housing = got[("agency", "housing_service_center")]
    assert pick(housing, "received", "open", "resolution_due", "on_time_rate") == {
        "received": 1,
        "open": 1,
        "resolution_due": 0,
        "on_time_rate": None,
    }
    # towns: T1 has A, B, C, F, I; T2 has D, E
    assert pick(got[("town", "T1")], *COUNTS) == counts(
        5, 0, 5, 4, 4, 4, 3, 1, 0, 1, 4, 1, 2, 1, 1, 2, 1, 1, 1, 0, 1, 0
    )
    t1 = got[("town", "T1")]
    assert t1["on_time_rate"] == 0.75 and t1["rework_rate"] == 0.25 and t1["name"] == "甲街道"
    assert pick(got[("town", "T2")], "received", "rejected", "resolution_due", "overdue") == {
        "received": 2,
        "rejected": 1,
        "resolution_due": 1,
        "overdue": 1,
    }


def test_stage_times_mean_and_90th_percentile(conn: Connection, history: dict) -> None:
    stages = units(conn, JAN_FEB)[("agency", "public_security")]["stage_hours"]
    # accept: A 0.5 h, B 13 h, C 10 min, D 1 h; p90 by linear interpolation: 1 + 0.7 * 12
    assert stages["accept"] == {"mean": pytest.approx(3.67, abs=0.01), "p90": 9.4, "n": 4}
    # respond: A 2 h, B 41 h, C 3 h (its referral is its response)
    assert stages["respond"] == {"mean": pytest.approx(15.33, abs=0.01), "p90": 33.4, "n": 3}
    # handle (response → last resolution): A 72 h, B 189 h (2 Feb 13:00 → 10 Feb 10:00),
    # C 120 h
    assert stages["handle"] == {"mean": 127.0, "p90": 175.2, "n": 3}
    assert stages["verify"] == {"mean": pytest.approx(23.67, abs=0.01), "p90": 24.0, "n": 3}
    # total (received → closed): A 98 h, B 253 h, C 147 h
    assert stages["total"] == {"mean": 166.0, "p90": 231.8, "n": 3}


def test_a_month_is_taken_as_of_its_end(conn: Connection, history: dict) -> None:
    police = units(conn, JAN)[("agency", "public_security")]
    # B (received 31 Jan 20:00) counts in January, but nothing had happened to it by 1 Feb
    assert pick(police, *COUNTS) == counts(
        4, 0, 3, 2, 3, 2, 2, 0, 1, 2, 2, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1
    )
    assert police["on_time_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert police["stage_hours"]["handle"]["n"] == 2


def test_monthly_trend_by_month_of_receipt(conn: Connection, history: dict) -> None:
    rows = {(r["unit"], r["month"]): r for r in service.monthly(conn, p=JAN_FEB, kind="town")}
    assert rows[("T1", "2026-01")] == {
        "unit": "T1",
        "month": "2026-01",
        "received": 3,
        "resolution_due": 3,
        "resolved_on_time": 2,
    }
    assert rows[("T1", "2026-02")]["received"] == 2
    assert rows[("T1", "2026-02")]["resolved_on_time"] == 1
    assert rows[("T2", "2026-01")]["resolution_due"] == 1
    assert rows[("", "2026-01")]["received"] == 4 and rows[("", "2026-02")]["received"] == 3
    assert rows[("", "2026-01")]["resolved_on_time"] == 2
    assert len(rows) == 6


def test_stage_histogram_and_map_points(conn: Connection, history: dict) -> None:
    hist = service.stage_histogram(conn, p=JAN_FEB)
    # respond: A 2 h, C 3 h, F 3 h, I 1 h (< 4 h); B 41 h (24–72 h)
    assert hist["respond"] == [4, 0, 0, 1, 0, 0, 0]
    points = {p["id"]: p for p in service.case_points(conn, p=JAN_FEB)}
    h = history
    assert set(points) == {h[k] for k in "ABCDEFI"}
    states = {k: points[h[k]]["state"] for k in "ABCDEFI"}
    assert states == {
        "A": "on_time",
        "B": "late",
        "C": "on_time",
        "D": "overdue",
        "E": "rejected",
        "F": "on_time",
        "I": "open",
    }
    assert points[h["A"]]["lon"] == 120.002 and points[h["A"]]["lat"] == 30.002


@pytest.mark.parametrize(
    ("kind", "unit", "figure", "cases"),
    [
        ("agency", "public_security", "resolved_on_time", "AC"),
        ("agency", "public_security", "resolution_due", "ABCD"),
        ("agency", "public_security", "overdue", "D"),
        ("agency", "public_security", "reworked", "B"),
        ("agency", "public_security", "satisfied", "A"),
        ("agency", "public_security", "referred_wrong", "C"),
        ("agency", "urban_management", "referred_correct", "C"),
        ("agency", "urban_management", "joint_led", "F"),
        ("agency_unit", "PS1", "joint_joined", "F"),
        ("town", "T1", "received", "ABCFI"),
        ("town", "T2", "rejected", "E"),
    ],
)
def test_every_figure_lists_its_cases(
    conn: Connection, history: dict, kind: str, unit: str, figure: str, cases: str
) -> None:
    found = service.audit(conn, p=JAN_FEB, kind=kind, unit=unit, figure=figure)
    assert found["case_ids"] == sorted(history[k] for k in cases)
    count = units(conn, JAN_FEB)[(kind, unit)][figure]
    assert count == len(cases)


def test_meeting_actions_list_their_ids(conn: Connection, history: dict) -> None:
    ids = history["actions"]
    police = service.audit(
        conn, p=JAN_FEB, kind="agency", unit="public_security", figure="actions_on_time"
    )
    assert police["action_ids"] == [ids["police"]]
    t1 = service.audit(conn, p=JAN_FEB, kind="town", unit="T1", figure="actions_due")
    assert t1["action_ids"] == [ids["t1"]]  # the one due on 1 March is not counted


def test_bad_requests(conn: Connection) -> None:
    with pytest.raises(InvalidPeriod):
        make_period(first=date(2026, 2, 1), last=date(2026, 1, 31))
    with pytest.raises(InvalidPeriod):
        make_period(first=date(2000, 1, 1), last=date(2026, 1, 31))
    with pytest.raises(UnknownFigure):
        service.audit(conn, p=JAN, kind="agency", unit="x", figure="nonsense")
    with pytest.raises(UnknownFigure):
        service.audit(conn, p=JAN, kind="street", unit="x", figure="received")
