"""Deadlines in working time on the official calendar (incidents/deadlines.py). No database.

Calendar facts used below, as in chinese_calendar 1.11.0 (国务院办公厅 notices):
  2025 National Day + Mid-Autumn: Oct 1–8 off; Sun Sep 28 and Sat Oct 11 are working days.
  2026 Spring Festival: Feb 15–23 off; Sat Feb 14 and Sat Feb 28 are working days.
Office hours: 08:30–12:00 and 13:30–17:30 (7.5 working hours a day).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from incidents import deadlines as dl

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def local(t: datetime) -> datetime:
    assert t.utcoffset() == timedelta(0)  # outputs are UTC
    return t.astimezone(SH)


# --- calendar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 27), False),  # Sat, ordinary weekend
        (date(2025, 9, 28), True),  # Sun, 调休 working day
        (date(2025, 10, 1), False),
        (date(2025, 10, 6), False),  # Mon, Mid-Autumn
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Sat, 调休 working day
        (date(2025, 10, 12), False),
        (date(2026, 2, 14), True),  # Sat, 调休 working day
        (date(2026, 2, 15), False),
        (date(2026, 2, 23), False),  # Mon, last day of the Spring Festival break
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Sat, 调休 working day
        (date(2026, 3, 1), False),
    ],
)
def test_official_calendar_with_adjusted_days(day: date, working: bool) -> None:
    assert dl.calendar_known(day)
    assert dl.is_working_day(day) is working


def test_is_working_day_of_a_datetime_uses_the_shanghai_date() -> None:
    # 2025-09-27 20:00 UTC is Sunday 2025-09-28 04:00 in Shanghai, a working day.
    assert dl.is_working_day(datetime(2025, 9, 27, 20, 0, tzinfo=UTC))


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dl.add_working_hours(datetime(2025, 9, 30, 10, 0), 1)


# --- working hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Fri 16:00: 1.5 h until 17:30, then 2.5 h from Mon 08:30 -> 11:00.
        (sh(2025, 11, 14, 16, 0), 4, sh(2025, 11, 17, 11, 0)),
        # 1.5 + 3.5 h: the whole Monday morning, ending at 12:00 (not 13:30).
        (sh(2025, 11, 14, 16, 0), 5, sh(2025, 11, 17, 12, 0)),
        # 1.5 + 3.5 + 0.5 h: lunch is skipped -> 14:00.
        (sh(2025, 11, 14, 16, 0), 5.5, sh(2025, 11, 17, 14, 0)),
        # Received at lunch: counting starts at 13:30.
        (sh(2025, 11, 17, 12, 30), 1, sh(2025, 11, 17, 14, 30)),
        (sh(2025, 11, 17, 12, 30), 4, sh(2025, 11, 17, 17, 30)),
        # After 17:30: next working day 08:30 + 1 h.
        (sh(2025, 11, 17, 18, 0), 1, sh(2025, 11, 18, 9, 30)),
        # Before 08:30 on a working day: that day 08:30 + 1 h.
        (sh(2025, 11, 18, 7, 0), 1, sh(2025, 11, 18, 9, 30)),
        # Morning 11:00 + 2 h: 1 h to 12:00, 1 h from 13:30.
        (sh(2025, 11, 18, 11, 0), 2, sh(2025, 11, 18, 14, 30)),
        # Fri 2026-02-13 16:00: 1.5 h, then the 调休 Saturday Feb 14 08:30 + 2.5 h.
        (sh(2026, 2, 13, 16, 0), 4, sh(2026, 2, 14, 11, 0)),
        # Sat 2026-02-14 (调休) 16:00: 1.5 h, then the break (Feb 15–23) -> Tue Feb 24 11:00.
        (sh(2026, 2, 14, 16, 0), 4, sh(2026, 2, 24, 11, 0)),
        # Zero hours: the start itself.
        (sh(2025, 11, 15, 10, 0), 0, sh(2025, 11, 15, 10, 0)),
    ],
)
def test_add_working_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert local(dl.add_working_hours(start, hours)) == expected


def test_add_working_hours_accepts_timedelta_and_other_zones() -> None:
    start = datetime(2025, 11, 14, 8, 0, tzinfo=UTC)  # Fri 16:00 in Shanghai
    assert local(dl.add_working_hours(start, timedelta(hours=4))) == sh(2025, 11, 17, 11, 0)


# --- working days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Tue 2025-09-30 10:00: Oct 1–8 off; day 1 Oct 9, 2 Oct 10, 3 Sat Oct 11 (调休),
        # 4 Oct 13, 5 Oct 14, 6 Oct 15, 7 Oct 16 -> Thu 2025-10-16 10:00 (same clock time).
        (sh(2025, 9, 30, 10, 0), 7, sh(2025, 10, 16, 10, 0)),
        # Sat 2025-09-27 (an ordinary weekend): counted from Sun Sep 28 08:30 (调休), so day 1
        # Sep 28, 2 Sep 29, 3 Sep 30, 4 Oct 9, 5 Oct 10, 6 Oct 11, 7 Oct 13 -> Mon 17:30.
        (sh(2025, 9, 27, 10, 0), 7, sh(2025, 10, 13, 17, 30)),
        # Sun 2025-09-28 10:00 (调休 working day, in office hours): day 1 Sep 29, 2 Sep 30,
        # 3 Oct 9, 4 Oct 10, 5 Oct 11, 6 Oct 13, 7 Oct 14 -> Tue 2025-10-14 10:00.
        (sh(2025, 9, 28, 10, 0), 7, sh(2025, 10, 14, 10, 0)),
        # Fri 2026-02-13 15:00: 1 Sat Feb 14 (调休), Feb 15–23 off, 2 Feb 24, 3 Feb 25,
        # 4 Feb 26, 5 Feb 27, 6 Sat Feb 28 (调休), 7 Mon Mar 2 -> 2026-03-02 15:00.
        (sh(2026, 2, 13, 15, 0), 7, sh(2026, 3, 2, 15, 0)),
        # Received at lunch: ends at 12:00 of the Nth working day after (Tue -> Wed).
        (sh(2025, 11, 18, 12, 30), 1, sh(2025, 11, 19, 12, 0)),
        # Received after hours on Fri: 17:30 of the Nth working day, Monday being day 1.
        (sh(2025, 11, 14, 18, 0), 1, sh(2025, 11, 17, 17, 30)),
    ],
)
def test_add_working_days(start: datetime, days: int, expected: datetime) -> None:
    assert local(dl.add_working_days(start, days)) == expected


# --- working_hours_between -----------------------------------------------------------------------


def test_working_hours_between_across_the_national_day_break() -> None:
    # Tue Sep 30 17:00 -> Thu Oct 9 09:00: 0.5 h + 0.5 h; the eight days off count nothing.
    assert dl.working_hours_between(sh(2025, 9, 30, 17, 0), sh(2025, 10, 9, 9, 0)) == 1.0
    assert dl.working_hours_between(sh(2025, 10, 9, 9, 0), sh(2025, 9, 30, 17, 0)) == -1.0
    # Within one lunch break or one holiday: nothing.
    assert dl.working_hours_between(sh(2025, 10, 9, 12, 5), sh(2025, 10, 9, 13, 0)) == 0.0
    assert dl.working_hours_between(sh(2025, 10, 2, 9, 0), sh(2025, 10, 3, 16, 0)) == 0.0


@pytest.mark.parametrize(
    "start",
    [
        sh(2025, 9, 26, 16, 45),  # Fri before the 调休 Sunday
        sh(2025, 9, 27, 10, 0),  # ordinary Saturday
        sh(2025, 10, 1, 3, 0),  # holiday, night
        sh(2025, 10, 9, 12, 10),  # lunch
        sh(2026, 2, 13, 17, 29),  # a minute before the Spring Festival weekend
    ],
)
@pytest.mark.parametrize("hours", [0.25, 1, 3.5, 4, 7.5, 20, 56.25])
def test_working_hours_between_round_trips(start: datetime, hours: float) -> None:
    end = dl.add_working_hours(start, hours)
    assert dl.working_hours_between(start, end) == pytest.approx(hours, abs=1e-9)
    # And it is the earliest such instant: a minute earlier is short of it.
    short = dl.working_hours_between(start, end - timedelta(minutes=1))
    assert short == pytest.approx(hours - 1 / 60, abs=1e-9)


# --- policy --------------------------------------------------------------------------------------


def test_ordinary_case_across_the_holiday() -> None:
    d = dl.deadlines_for("household_noise", "enforcement", start=sh(2025, 9, 30, 10, 0))
    assert d.urgency == "ordinary" and d.stop_by is None and not d.approximate
    assert local(d.respond_by) == sh(2025, 9, 30, 15, 30)  # 2 + 2 working hours
    assert local(d.resolve_by) == sh(2025, 10, 16, 10, 0)
    assert "7个工作日" in d.basis_zh and "含调休" in d.basis_zh and "国庆节" in d.basis_zh
    assert "7 working days" in d.basis_en


def test_illegal_construction_must_be_stopped_within_4_working_hours() -> None:
    for code in ("illegal_construction", "rooftop_ground_floor_construction"):
        d = dl.deadlines_for(code, "enforcement", start=sh(2025, 11, 14, 16, 0))
        assert d.stop_by is not None and local(d.stop_by) == sh(2025, 11, 17, 11, 0)
        assert "制止4个工作小时" in d.basis_zh
        assert local(d.resolve_by) == sh(2025, 11, 25, 16, 0)  # 7 working days, no holiday


def test_emergency_counts_calendar_hours_at_night_on_a_holiday() -> None:
    start = sh(2025, 10, 1, 23, 0)  # National Day, 23:00
    for code, scope in [("gas_leak_smell", "utility"), ("lift_entrapment", "enforcement")]:
        d = dl.deadlines_for(code, scope, start=start)
        assert d.urgency == "emergency" and not d.approximate
        assert local(d.respond_by) == sh(2025, 10, 1, 23, 30)
        assert local(d.resolve_by) == sh(2025, 10, 2, 1, 0)
        assert "自然时间" in d.basis_zh
    # A type's minimum urgency is not lowered by the level asked for.
    d = dl.deadlines_for("evacuation_route_blocked", "enforcement", "ordinary", start=start)
    assert d.urgency == "emergency"


def test_emergency_caps_the_stop_deadline() -> None:
    start = sh(2025, 11, 14, 16, 0)
    d = dl.deadlines_for("illegal_construction", "enforcement", "emergency", start=start)
    assert d.stop_by == d.resolve_by and local(d.resolve_by) == sh(2025, 11, 14, 18, 0)


def test_utility_outage_resolves_in_24_calendar_hours() -> None:
    d = dl.deadlines_for("water_outage", "utility", start=sh(2025, 10, 4, 9, 0))
    assert d.urgency == "urgent"
    assert local(d.resolve_by) == sh(2025, 10, 5, 9, 0)
    assert local(d.respond_by) == sh(2025, 10, 4, 11, 0)


def test_complex_and_unknown_values() -> None:
    d = dl.deadlines_for(
        "maintenance_fund_misuse", "enforcement", "complex", start=sh(2026, 2, 13, 15, 0)
    )
    # 15 working days: Feb 14, 24–28 (6), Mar 2–6 (11), Mar 9–12 (15) -> Thu Mar 12 15:00.
    assert local(d.resolve_by) == sh(2026, 3, 12, 15, 0)
    assert local(d.respond_by) == sh(2026, 2, 14, 15, 0)
    assert "春节" in d.basis_zh and "1 working day;" in d.basis_en
    with pytest.raises(ValueError, match="scope"):
        dl.deadlines_for("water_outage", "nowhere", start=sh(2025, 10, 4, 9, 0))
    with pytest.raises(ValueError, match="urgency"):
        dl.deadlines_for("water_outage", "utility", "asap", start=sh(2025, 10, 4, 9, 0))


# --- outside the calendar's data -----------------------------------------------------------------


def test_unknown_year_falls_back_to_weekends_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dl._warn_unknown_year.cache_clear()
    assert dl.calendar_known(date(2025, 10, 1))
    assert not dl.calendar_known(date(2099, 1, 1))
    with caplog.at_level(logging.WARNING, logger="incidents.deadlines"):
        assert dl.is_working_day(date(2099, 1, 1))  # Thu, New Year's Day: not known as a holiday
        assert not dl.is_working_day(date(2099, 1, 3))  # Sat
        # Thu Jan 1 10:00 + 7 working days: Jan 2, 5, 6, 7, 8, 9, 12 -> Mon 2099-01-12 10:00.
        d = dl.deadlines_for("household_noise", "enforcement", start=sh(2099, 1, 1, 10, 0))
    assert local(d.resolve_by) == sh(2099, 1, 12, 10, 0)
    assert d.approximate and "近似" in d.basis_zh and "approximate" in d.basis_en
    assert len([r for r in caplog.records if "2099" in r.getMessage()]) == 1


def test_deadline_running_past_the_known_years_is_approximate() -> None:
    last_known = max(dl.chinese_calendar.holidays).year
    start = sh(last_known, 12, 30, 10, 0)
    d = dl.deadlines_for("household_noise", "enforcement", start=start)
    assert d.approximate
    # Calendar-time deadlines are exact whatever the calendar data.
    assert not dl.deadlines_for("gas_leak_smell", "utility", start=start).approximate


# --- the data ------------------------------------------------------------------------------------


def test_policy_codes_and_scopes_exist_in_the_taxonomy() -> None:
    types = yaml.safe_load(
        (ROOT / "jurisdictions" / "data" / "violation_types.yaml").read_text(encoding="utf-8")
    )
    codes = {t["code"] for t in types}
    raw = yaml.safe_load(dl.POLICY_PATH.read_text(encoding="utf-8"))
    listed = [c for rule in raw["types"] for c in rule.get("codes", [])]
    assert listed and sorted(set(listed) - codes) == []
    assert {t["scope"] for t in types} <= set(raw["scope_defaults"])
    policy = dl.load_policy()
    assert policy is dl.load_policy()  # cached
    assert [str(t) for p in policy.working_hours for t in p] == [
        "08:30:00", "12:00:00", "13:30:00", "17:30:00"
    ]  # fmt: skip


def test_policy_rejects_unknown_levels_and_overlapping_hours() -> None:
    raw = yaml.safe_load(dl.POLICY_PATH.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="unknown urgency"):
        dl.Policy.model_validate({**raw, "scope_defaults": {"utility": "someday"}})
    with pytest.raises(ValueError, match="working_hours"):
        dl.Policy.model_validate({**raw, "working_hours": [["08:30", "12:00"], ["11:00", "17:30"]]})
