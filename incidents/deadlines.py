"""Case deadlines (办理时限) counted in working time on China's official calendar.

Pure Python, no database. The values (office hours, urgency levels, per-scope and per-type
rules) are data: :file:`data/deadlines.yaml`, loaded by :func:`load_policy`.

Counting rules
    * Every input must be timezone-aware; times are computed in Asia/Shanghai and returned in UTC.
    * A *working day* is a workday of the official calendar (``chinese_calendar.is_workday``):
      Monday–Friday except public holidays, plus adjusted working days (调休上班的周末).
    * *Working time* is the time inside the office hours of working days (08:30–12:00 and
      13:30–17:30 by default). :func:`add_working_hours` returns the earliest instant by which
      that much working time has passed since ``start``; a start outside office hours (lunch,
      evening, weekend, holiday) therefore counts from the next period (13:30, or 08:30 of the
      next working day — as 12345 practice counts an after-hours case from the next working day).
    * ``N`` *working days* are ``N`` × one day of working time (7.5 h): the same clock time ``N``
      working days later for a start inside office hours. A start outside office hours ends
      at the close (17:30) of the ``N``-th working day, day 1 being the first working day with
      office hours left (received Sat 2025-09-27: day 1 is Sun 09-28, a 调休 working day);
      a start during lunch ends at 12:00 of the ``N``-th working day after. This is never later
      than the legal rule (民法典 第201、203条: the start day is not counted and the last day
      ends at the close of business).
    * Calendar units (``calendar_minutes`` / ``calendar_hours``) are wall-clock time, 24/7.

Outside the calendar package's data (it raises ``NotImplementedError`` for unknown years) a
working day is Monday–Friday (no holidays, no adjusted days); a warning is logged once per
year and :func:`calendar_known` is False, so that the caller can mark a deadline approximate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
POLICY_PATH = Path(__file__).with_name("data") / "deadlines.yaml"
_MAX_DAYS = 3660  # give up looking for working time after ten years

Hours = Sequence[tuple[time, time]]  # office periods of a working day
Unit = Literal["calendar_minutes", "calendar_hours", "working_hours", "working_days"]
_UNIT_ZH = {"calendar_minutes": "分钟", "calendar_hours": "小时",
            "working_hours": "个工作小时", "working_days": "个工作日"}  # fmt: skip
_HOLIDAY_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
               "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
               "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战纪念日"}  # fmt: skip


# --- calendar ------------------------------------------------------------------------------------


@cache
def _warn_unknown_year(year: int) -> None:
    log.warning(
        "chinese_calendar has no data for %d: counting Monday-Friday as working days "
        "(holidays and adjusted working days ignored); deadlines are approximate",
        year,
    )


def _day(d: date | datetime) -> date:
    return _local(d).date() if isinstance(d, datetime) else d


@lru_cache(maxsize=4096)
def _official_workday(day: date) -> bool:
    """``chinese_calendar.is_workday``, remembered (every deadline asks about the same days)."""
    return bool(chinese_calendar.is_workday(day))


@lru_cache(maxsize=4096)
def _holiday_detail(day: date) -> tuple[bool, str | None]:
    """``chinese_calendar.get_holiday_detail``, remembered."""
    off, name = chinese_calendar.get_holiday_detail(day)
    return bool(off), name


def calendar_known(d: date | datetime) -> bool:
    """Whether the official calendar of ``d`` (a datetime: its Shanghai date) is known."""
    try:
        _official_workday(_day(d))
    except NotImplementedError:
        return False
    return True


def is_working_day(d: date | datetime) -> bool:
    """Whether ``d`` (a datetime: its Shanghai date) is a working day, 调休 included.

    Outside the calendar's known years: Monday–Friday, with a warning logged once per year.
    """
    day = _day(d)
    try:
        return _official_workday(day)
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return day.weekday() < 5


def _local(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {t!r}")
    return t.astimezone(LOCAL_TZ)


def _hours(working_hours: Hours | None) -> Hours:
    return working_hours if working_hours is not None else load_policy().working_hours


def _periods(d: date, hours: Hours) -> list[tuple[datetime, datetime]]:
    if not is_working_day(d):
        return []
    return [(_at(d, s), _at(d, e)) for s, e in hours]


def _at(d: date, t: time) -> datetime:
    return datetime.combine(d, t, LOCAL_TZ)


def add_working_hours(
    start: datetime, hours: float | timedelta, *, working_hours: Hours | None = None
) -> datetime:
    """The earliest instant (UTC) by which ``hours`` (>= 0) of working time have passed.

    ``working_hours`` are the office periods of a working day (default: the policy's).
    """
    wh = _hours(working_hours)
    cur = _local(start)
    remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    if remaining < timedelta(0):
        raise ValueError("hours must not be negative")
    if not remaining:
        return cur.astimezone(UTC)
    day = cur.date()
    for _ in range(_MAX_DAYS):
        for lo, hi in _periods(day, wh):
            if hi <= cur:
                continue
            seg = max(lo, cur)
            if remaining <= hi - seg:
                return (seg + remaining).astimezone(UTC)
            remaining -= hi - seg
        day += timedelta(days=1)
    raise ValueError("no working time found within ten years")


def add_working_days(start: datetime, days: int, *, working_hours: Hours | None = None) -> datetime:
    """``days`` working days after ``start`` (UTC): ``days`` × one day of working time.

    The same clock time ``days`` working days later for a start in office hours; see the
    module docstring for starts outside them.
    """
    wh = _hours(working_hours)
    naive = datetime.combine
    day_length = sum((naive(date.min, e) - naive(date.min, s) for s, e in wh), timedelta(0))
    return add_working_hours(start, day_length * days, working_hours=wh)


def working_hours_between(a: datetime, b: datetime, *, working_hours: Hours | None = None) -> float:
    """Working hours from ``a`` to ``b`` (negative when ``b`` is before ``a``).

    ``working_hours_between(a, add_working_hours(a, h)) == h``; use it for lateness
    (``working_hours_between(deadline, closed_at) > 0``).
    """
    wh = _hours(working_hours)
    lo_t, hi_t = _local(a), _local(b)
    if hi_t < lo_t:
        return -working_hours_between(b, a, working_hours=wh)
    total = timedelta(0)
    day = lo_t.date()
    while day <= hi_t.date():
        for lo, hi in _periods(day, wh):
            if min(hi, hi_t) > max(lo, lo_t):
                total += min(hi, hi_t) - max(lo, lo_t)
        day += timedelta(days=1)
    return total.total_seconds() / 3600


# --- policy --------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Duration(_Frozen):
    amount: int = Field(gt=0)
    unit: Unit

    def after(self, start: datetime, periods: Hours) -> datetime:
        if self.unit == "working_hours":
            return add_working_hours(start, self.amount, working_hours=periods)
        if self.unit == "working_days":
            return add_working_days(start, self.amount, working_hours=periods)
        minutes = self.amount * (60 if self.unit == "calendar_hours" else 1)
        return _local(start).astimezone(UTC) + timedelta(minutes=minutes)

    def text(self, lang: Literal["zh", "en"]) -> str:
        if lang == "zh":
            return f"{self.amount}{_UNIT_ZH[self.unit]}"
        return f"{self.amount} {self.unit.replace('_', ' ').removesuffix('s' * (self.amount == 1))}"


class UrgencyLevel(_Frozen):
    name_zh: str
    name_en: str
    respond: Duration
    resolve: Duration


class TypeRule(_Frozen):
    class_: str = Field(alias="class")
    codes: tuple[str, ...] = ()
    code_contains: tuple[str, ...] = ()
    urgency: str | None = None
    stop: Duration | None = None

    def matches(self, code: str) -> bool:
        return code in self.codes or any(part in code for part in self.code_contains)


class Deadlines(_Frozen):
    """Deadlines of one case, aware UTC datetimes, with their basis in Chinese and English.

    ``approximate``: some working-time deadline lies outside the calendar data (weekends only).
    """

    respond_by: datetime
    stop_by: datetime | None
    resolve_by: datetime
    urgency: str
    basis_zh: str
    basis_en: str
    approximate: bool


class Policy(_Frozen):
    """The deadline policy (:file:`data/deadlines.yaml`)."""

    working_hours: tuple[tuple[time, time], ...] = Field(min_length=1)  # (start, end) periods
    urgency_levels: dict[str, UrgencyLevel] = Field(min_length=1)
    scope_defaults: dict[str, str]
    types: tuple[TypeRule, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Policy:
        ends = [t for period in self.working_hours for t in period]
        if ends != sorted(ends) or any(s >= e for s, e in self.working_hours):
            raise ValueError("working_hours must be increasing, non-overlapping periods")
        named = list(self.scope_defaults.values()) + [r.urgency for r in self.types if r.urgency]
        if unknown := sorted(set(named) - set(self.urgency_levels)):
            raise ValueError(f"unknown urgency levels: {unknown}")
        return self

    def deadlines_for(
        self, type_code: str, scope: str, urgency: str | None = None, *, start: datetime
    ) -> Deadlines:
        """Deadlines of a case of ``type_code`` / ``scope`` received at ``start``.

        The level is ``urgency`` if given, else the scope's default; a matching type rule's
        ``urgency`` raises it (never lowers it) and its ``stop`` adds ``stop_by`` (no later
        than ``resolve_by``).
        """
        if scope not in self.scope_defaults:
            raise ValueError(f"unknown scope {scope!r}")
        if urgency is not None and urgency not in self.urgency_levels:
            raise ValueError(f"unknown urgency {urgency!r}")
        rank = list(self.urgency_levels)
        applied = urgency or self.scope_defaults[scope]
        rules = [r for r in self.types if r.matches(type_code)]
        for r in rules:
            if r.urgency and rank.index(r.urgency) < rank.index(applied):
                applied = r.urgency
        level = self.urgency_levels[applied]
        stop = next((r.stop for r in rules if r.stop), None)
        resolve_by = level.resolve.after(start, self.working_hours)
        respond_by = min(level.respond.after(start, self.working_hours), resolve_by)
        stop_by = stop.after(start, self.working_hours) if stop else None
        if stop_by is not None and stop_by >= resolve_by:  # stopped when resolved at the latest
            stop, stop_by = None, resolve_by
        parts = [("响应", "respond within", level.respond)]
        parts += [("制止", "stop within", stop)] if stop else []
        parts += [("办结", "resolve within", level.resolve)]
        working = any(d.unit.startswith("working") for _, _, d in parts)
        approximate = working and not (calendar_known(start) and calendar_known(resolve_by))
        zh = f"{level.name_zh}：" + "；".join(f"{a}{d.text('zh')}" for a, _, d in parts)
        en = f"{level.name_en}: " + "; ".join(f"{b} {d.text('en')}" for _, b, d in parts)
        if not working:
            zh, en = zh + "（自然时间，全天候计算）", en + " (calendar time, 24/7)"
        elif approximate:
            zh += "（超出节假日数据范围，仅按周末推算，时限为近似值）"
            en += " (beyond the holiday data: weekends only, approximate)"
        else:
            zh += "（按国务院办公厅节假日安排，含调休）"
            en += " (official holiday schedule, adjusted working days included)"
            if names := _holidays_between(start, resolve_by):
                zh += "，期间遇" + "、".join(_HOLIDAY_ZH.get(n, n) for n in names)
                en += ", spanning " + ", ".join(names)
        return Deadlines(
            respond_by=respond_by,
            stop_by=stop_by,
            resolve_by=resolve_by,
            urgency=applied,
            basis_zh=zh,
            basis_en=en,
            approximate=approximate,
        )


def _holidays_between(a: datetime, b: datetime) -> list[str]:
    names: list[str] = []
    day, last = _local(a).date(), _local(b).date()
    while day <= last:
        off, name = _holiday_detail(day)
        if off and name and name not in names:
            names.append(name)
        day += timedelta(days=1)
    return names


@lru_cache(maxsize=8)
def _load(path: Path) -> Policy:
    return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy in ``path`` (default :file:`data/deadlines.yaml`), cached per path."""
    return _load(Path(path) if path is not None else POLICY_PATH)


def deadlines_for(
    type_code: str, scope: str, urgency: str | None = None, *, start: datetime
) -> Deadlines:
    """:meth:`Policy.deadlines_for` of the default policy."""
    return load_policy().deadlines_for(type_code, scope, urgency, start=start)
