"""Pydantic shapes of the joint-meetings API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meetings.models import OWNER_KINDS, PARTY_KINDS

PartyKind = Literal[PARTY_KINDS]  # type: ignore[valid-type]
OwnerKind = Literal[OWNER_KINDS]  # type: ignore[valid-type]


class PrepareIn(BaseModel):
    """Prepare (or refresh) a town's agenda: the month's regular meeting, or an extraordinary
    one called at any time."""

    model_config = ConfigDict(extra="forbid")
    town: str = Field(min_length=1, max_length=64)
    month: str | None = Field(default=None, description="YYYY-MM; default: this month")
    kind: Literal["regular", "extraordinary"] = "regular"
    topic: str = Field(default="", max_length=500)


class AttendeeIn(BaseModel):
    """One attendee, as a party of 三（一）."""

    model_config = ConfigDict(extra="forbid")
    party: PartyKind
    unit: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=100)


class ActionIn(BaseModel):
    """A decision's action: what, who owns it (an agency, an agency unit or a town), by when."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500)
    owner_kind: OwnerKind
    owner_code: str = Field(min_length=1, max_length=64)
    owner_agency: str | None = Field(
        default=None, max_length=64, description="the agency of an agency_unit owner"
    )
    due_on: date


class DecisionIn(BaseModel):
    """The decision on one agenda item and the actions it sets."""

    model_config = ConfigDict(extra="forbid")
    item_id: int
    decision: str = Field(min_length=1, max_length=4000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=50)


class RecordIn(BaseModel):
    """The minutes: when, who attended, what was decided."""

    model_config = ConfigDict(extra="forbid")
    held_on: date
    attendees: list[AttendeeIn] = Field(min_length=1, max_length=200)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=500)
    note: str = Field(default="", max_length=10000)


class ActionDoneIn(BaseModel):
    """An action done (default: today)."""

    model_config = ConfigDict(extra="forbid")
    done_on: date | None = None
    note: str = Field(default="", max_length=4000)
