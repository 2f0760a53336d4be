"""ORM models of joint meetings (联席会议): the meeting, its attendees, agenda items and actions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base

MEETING_KINDS = ("regular", "extraordinary")
MEETING_STATUSES = ("draft", "held")
ITEM_KINDS = (
    "overdue",
    "joint",
    "referred_repeatedly",
    "repeat_location",
    "dispute",
    "hotspot",
    "action_followup",
    "missed_meeting",
)
#: The parties of 三（一）: agency codes of jurisdictions/data/agencies.yaml, and the two that
#: have none there (owners' committees and "other" invitees).
PARTY_KINDS = (
    "town_government",
    "community_committee",
    "public_security",
    "market_regulation",
    "urban_management",
    "environmental_protection",
    "housing_construction",
    "housing_service_center",
    "property_company",
    "owners_committee",
    "utility",
    "planning",
    "price_bureau",
    "other",
)
OWNER_KINDS = ("agency", "agency_unit", "town")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Meeting(Base):
    """One joint meeting of a town/street: monthly (regular) or called any time (extraordinary)."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    town_code: Mapped[str] = mapped_column(String(64), nullable=False)
    month: Mapped[date] = mapped_column(Date, nullable=False)  # first day of the month
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="regular")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="draft")
    topic: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    held_on: Mapped[date | None] = mapped_column(Date)
    minutes_note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    figures: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_in("kind", MEETING_KINDS), name="kind"),
        CheckConstraint(_in("status", MEETING_STATUSES), name="status"),
        CheckConstraint("EXTRACT(DAY FROM month) = 1", name="month_first_day"),
        CheckConstraint("status <> 'held' OR held_on IS NOT NULL", name="held_on"),
        Index(
            "uq_meeting_regular_month",
            "town_code",
            "month",
            unique=True,
            postgresql_where=text("kind = 'regular'"),
        ),
    )


class MeetingAttendee(Base):
    """Who attended, as one of the parties of 三（一）."""

    __tablename__ = "meeting_attendee"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
    )
    party_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    unit: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")

    __table_args__ = (CheckConstraint(_in("party_kind", PARTY_KINDS), name="party_kind"),)


class MeetingItem(Base):
    """One agenda item, linking to its cases; ``decision`` is filled in when recorded."""

    __tablename__ = "meeting_item"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    case_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), nullable=False, server_default="{}"
    )
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    decision: Mapped[str] = mapped_column(Text, nullable=False, server_default="")

    __table_args__ = (CheckConstraint(_in("kind", ITEM_KINDS), name="kind"),)


class MeetingAction(Base):
    """A decision's action: an owner unit and a due date; followed up until done."""

    __tablename__ = "meeting_action"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_item.id", ondelete="CASCADE"), nullable=False, index=True
    )
    owner_kind: Mapped[str] = mapped_column(Text, nullable=False)
    owner_code: Mapped[str] = mapped_column(Text, nullable=False)
    #: the agency of an ``agency_unit`` owner (unit codes are unique per agency only)
    owner_agency: Mapped[str | None] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    title: Mapped[str] = mapped_column(Text, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    done_on: Mapped[date | None] = mapped_column(Date)
    done_note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    done_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(_in("owner_kind", OWNER_KINDS), name="owner_kind"),
        CheckConstraint(
            "owner_kind <> 'agency_unit' OR owner_agency IS NOT NULL", name="unit_agency"
        ),
        Index("ix_meeting_action_open", "owner_kind", "owner_code", "due_on"),
    )
