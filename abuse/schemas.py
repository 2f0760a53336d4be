"""Request and response bodies of the ban list."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

#: The longest ban with an end (100 years); a longer one is a ban until lifted.
MAX_BAN_DAYS = 36_500


class BanIn(BaseModel):
    """Refuse reports from a client address or a phone number."""

    kind: Literal["ip", "phone"]
    value: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    days: float | None = Field(
        default=None, gt=0, le=MAX_BAN_DAYS, description="Until lifted when absent."
    )


class BanOut(BaseModel):
    """A ban as stored."""

    id: int
    kind: str
    value: str
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
