"""ORM models of cases: the case, its reporters, events, tasks, photos and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from shudi.orm import Base


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id."""

    cache_ok = True

    def get_col_spec(self, **_kw: object) -> str:
        return "xid8"


STATUSES = (
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "referred",
    "joint",
    "postponed",
    "reopened",
)
OPEN_STATUSES = tuple(s for s in STATUSES if s not in ("closed", "rejected"))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Case(Base):
    """One reported matter, resolved to its territory and routed to its handler."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("violation_type.code"), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False)
    urgency: Mapped[str] = mapped_column(String(16), nullable=False, server_default="ordinary")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="reported")
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    address_text: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    input_crs: Mapped[str] = mapped_column(String(16), nullable=False, server_default="wgs84")
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    town_code: Mapped[str | None] = mapped_column(String(64))
    community_code: Mapped[str | None] = mapped_column(String(64))
    property_area_code: Mapped[str | None] = mapped_column(String(64))
    property_company: Mapped[str | None] = mapped_column(Text)
    agency_units: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    handler_party: Mapped[str] = mapped_column(String(64), nullable=False)
    handler_unit_code: Mapped[str | None] = mapped_column(String(64))
    handler_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    routing: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    generations: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    respond_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stop_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_basis: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    rejection_reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    #: the transaction that last wrote the row (a trigger sets it on update): the live map's
    #: cursor (incidents/feeds.py)
    changed_xid: Mapped[int] = mapped_column(
        Xid8(), nullable=False, server_default=text("pg_current_xact_id()"), index=True
    )

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_case_file_due_at_id", "due_at", "id"),
        Index("ix_case_file_created_id", "created_at", "id"),  # the newest-first queue
        Index(  # the live map's full load, index-only (migration 0032)
            "ix_case_file_open_feed",
            "id",
            postgresql_include=[
                "lon",
                "lat",
                "status",
                "handler_party",
                "type_code",
                "town_code",
                "due_at",
                "version",
                "updated_at",
                "merged_into",
            ],
            postgresql_where=text("status NOT IN ('closed', 'rejected') AND merged_into IS NULL"),
        ),
        Index(
            "ix_case_file_merged_into",
            "merged_into",
            postgresql_where=text("merged_into IS NOT NULL"),
        ),
        CheckConstraint(
            _in("urgency", ("emergency", "urgent", "ordinary", "complex")), name="urgency"
        ),
        CheckConstraint(
            "outcome IS NULL OR "
            + _in("outcome", ("fixed", "not_fixed", "not_our_matter", "duplicate")),
            name="outcome",
        ),
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction IN ('satisfied', 'dissatisfied')",
            name="satisfaction",
        ),
        Index("ix_case_file_geom", "geom", postgresql_using="gist"),
        Index(
            "ix_case_file_open_geom",
            "geom",
            postgresql_using="gist",
            postgresql_where=text("status NOT IN ('closed', 'rejected')"),
        ),
        Index(
            "ix_case_file_open",
            "status",
            "due_at",
            postgresql_where=text(_in("status", OPEN_STATUSES)),
        ),
        Index("ix_case_file_updated", "updated_at"),
        # the staff's list: its capped count and officers' pages (migrations 0031, 0032)
        Index(
            "ix_case_file_list_count",
            "town_code",
            "status",
            "due_at",
            postgresql_include=["type_code"],
        ),
        Index("ix_case_file_handler_due", "handler_party", "due_at", "id"),
        Index(
            "ix_case_file_overdue",
            "due_at",
            "id",
            postgresql_include=[
                "status",
                "town_code",
                "type_code",
                "handler_party",
                "community_code",
                "created_at",
            ],
            postgresql_where=text("status NOT IN ('resolved', 'closed', 'rejected')"),
        ),
        Index(  # 我的待办: the waiting cases of a unit, in deadline order
            "ix_case_file_waiting",
            "handler_party",
            "status",
            "due_at",
            "id",
            postgresql_include=["type_code", "handler_unit_code", "town_code", "community_code"],
            postgresql_where=text("status NOT IN ('closed', 'rejected') AND merged_into IS NULL"),
        ),
        Index("ix_case_file_community", "community_code", "status"),
        Index("ix_case_file_handler", "handler_party", "handler_unit_code", "status"),
        Index("ix_case_file_type_created", "type_code", "created_at"),
    )


class CaseReporter(Base):
    """Who reported (personal data kept apart from the case; never shown publicly)."""

    __tablename__ = "case_reporter"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tracking_code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    contact_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    #: sealed at rest (shudi.pii), as is ``contact_name``
    phone: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    email: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class CaseEvent(Base):
    """An append-only record of every change (the database refuses updates and deletes)."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_label: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    #: What the action says to the public (``note`` is the staff's and is never published).
    public_reply: Mapped[str] = mapped_column(Text, nullable=False, server_default="")

    __table_args__ = (Index("ix_case_event_case", "case_id", "id"),)


#: What a task in a unit's work list is (see migration 0010).
TASK_KINDS = ("joint", "refusal_report", "joint_proposal", "escalation", "return_visit")


class CaseTask(Base):
    """A task in a unit's work list: one agency's part of a joint-enforcement case (the case
    closes when all ``joint`` parts are done), or a refusal report, joint-enforcement proposal
    or escalation sent to the unit."""

    __tablename__ = "case_task"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
    )
    party: Mapped[str] = mapped_column(ForeignKey("agency.code"), nullable=False)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    kind: Mapped[str] = mapped_column(String(32), nullable=False, server_default="joint")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_in("kind", TASK_KINDS), name="kind"),
        Index(
            "ix_case_task_party_unit_open",
            "party",
            "unit_code",
            "created_at",
            postgresql_where=text("NOT done"),
        ),
    )


class CasePhoto(Base):
    """A photo as served: re-encoded, without EXIF (no location)."""

    __tablename__ = "case_photo"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False, index=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mime: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: report (sent with the report), before / after (the handler's 处置前后 photos)
    stage: Mapped[str] = mapped_column(String(8), nullable=False, server_default="report")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (CheckConstraint("stage IN ('report', 'before', 'after')", name="stage"),)


class IdempotencyKey(Base):
    """A client's Idempotency-Key: the stored answer is replayed for a retried request."""

    __tablename__ = "idempotency_key"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("ix_idempotency_key_created", "created_at"),)


class PiiAccess(Base):
    """One read of a case's reporter names and phone numbers: who, when, why (append-only,
    copied into the audit log)."""

    __tablename__ = "pii_access"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
