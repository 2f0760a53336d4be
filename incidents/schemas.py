"""Pydantic shapes of the case API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.coords import CoordSystem
from incidents.intake import Report


class ReportIn(Report):
    """A report over HTTP: where (in the reporter's coordinate system), what, and optionally
    who; a resident's or a staff channel (Open311 files through its own endpoint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: Literal["resident", "phone", "patrol_community", "patrol_property", "agency"] = (
        "resident"
    )


class ReportOut(BaseModel):
    id: int
    tracking_code: str
    status: str
    due_at: str | None
    routing: dict[str, Any]


class TransitionIn(BaseModel):
    """One workflow action; the fields it needs depend on the action."""

    model_config = ConfigDict(extra="forbid")
    action: str
    note: str = Field(default="", max_length=4000, description="For staff only; never public.")
    public_reply: str = Field(
        default="",
        max_length=1000,
        description="What the public may read of this action (Open311, the tracking page); "
        "public actions only. Phone and ID numbers in it are masked when published.",
    )
    to_party: str | None = None
    parties: list[str] | None = None
    task_id: int | None = None
    outcome: Literal["fixed", "not_fixed", "not_our_matter"] | None = None
    due_at: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: CoordSystem | None = None
    type: str | None = None
    into: int | None = None


class ResidentActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["rate", "dispute"]
    satisfaction: Literal["satisfied", "dissatisfied"] | None = None
    note: str = Field(default="", max_length=2000)


class DisclosureIn(BaseModel):
    """The dispatcher's decision on whether the case's handler may see its reporters."""

    model_config = ConfigDict(extra="forbid")
    reveal: bool
    note: str = Field(min_length=1, max_length=2000, description="Why (kept in the history).")
