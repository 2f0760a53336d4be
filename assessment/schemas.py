"""The assessment's answers (Pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class StageTime(BaseModel):
    """Hours a stage took: mean, 90th percentile and the number of cases timed."""

    mean: float | None
    p90: float | None
    n: int


class UnitFigures(BaseModel):
    """One unit's figures for the period (definitions: docs/assessment.md)."""

    unit: str
    kind: Literal["agency", "agency_unit", "town"]
    agency: str | None = Field(description="The agency of an agency unit (its own code for one)")
    name: str
    rank: int = Field(description="Within its kind, by on-time resolution rate")
    received: int
    rejected: int
    response_due: int
    responded_on_time: int
    response_rate: float | None
    resolution_due: int
    resolved: int
    resolved_on_time: int
    resolved_late: int
    on_time_rate: float | None = Field(description="按期办结率")
    overdue: int
    open: int
    ever_resolved: int
    reworked: int
    rework_rate: float | None = Field(description="返工率")
    rated: int
    satisfied: int
    satisfaction: float | None
    referred_in: int
    referred_out: int
    referred_correct: int
    referred_wrong: int
    referral_accuracy: float | None
    joint_led: int
    joint_joined: int
    actions_due: int
    actions_on_time: int
    action_on_time_rate: float | None
    followup_answered: int = 0
    followup_solved: int = 0
    actual_resolution_rate: float | None = Field(default=None, description="实际解决率")
    followup_rated: int = 0
    followup_satisfied: int = 0
    satisfied_rate: float | None = Field(default=None, description="满意率 (rated 4–5 of 1–5)")
    meeting_months: int | None = Field(
        default=None, description="Whole months of the period counted for joint meetings (towns)"
    )
    months_without_meeting: int | None = Field(
        default=None, description="Months in which the town held no joint meeting (三（一）)"
    )
    missed_meeting_months: list[str] = Field(default_factory=list)
    stage_hours: dict[str, StageTime]
    cases_url: str = Field(description="Lists the ids behind a figure: fill in {figure}")


class Assessment(BaseModel):
    """Every unit's figures for a period, taken as of ``as_of``."""

    from_: date = Field(alias="from")
    to: date
    as_of: datetime
    units: list[UnitFigures]
    definitions: dict[str, str]


class AuditList(BaseModel):
    """The ids behind one figure of one unit."""

    figure: str
    kind: str
    unit: str
    case_ids: list[int] | None = None
    action_ids: list[int] | None = None
    months: list[str] | None = None
