"""The period an assessment covers: calendar days in China time, taken as of a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assessment.exceptions import InvalidPeriod

CHINA = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    """Calendar days ``first``..``last`` (both included) in China time, taken as of ``as_of``."""

    first: date
    last: date
    as_of: datetime

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), CHINA)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), CHINA)

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "as_of": self.as_of,
            "start_date": self.first,
            # meeting actions are late once their due day is over
            "as_of_date": self.as_of.astimezone(CHINA).date(),
        }


def period(*, first: date, last: date, now: datetime | None = None) -> Period:
    """The period from ``first`` to ``last`` (both included), as of the earlier of its end and
    ``now``; :class:`InvalidPeriod` when reversed or longer than five years."""
    if last < first:
        raise InvalidPeriod(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days >= MAX_DAYS:
        raise InvalidPeriod(f"a period is at most {MAX_DAYS} days")
    end = datetime.combine(last + timedelta(days=1), time(), CHINA)
    now = now or datetime.now(UTC)
    return Period(first, last, min(end, now))
