"""ORM models of the outbox: one row per message, and residents' opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base

STATES = ("pending", "sent", "dead", "suppressed")
CHANNELS = ("sms", "email", "staff", "hotline")


class NotifyMessage(Base):
    """One message: written in the transaction of the change that causes it, sent later.

    ``recipient`` is sealed (shudi.pii) for residents and a unit code for staff;
    ``recipient_masked`` is what staff see; ``recipient_digest`` keys rate caps and opt-outs.
    ``key`` is the idempotency key the channel receives (SMTP Message-ID, HTTP header, OutId).
    """

    __tablename__ = "notify_message"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    audience: Mapped[str] = mapped_column(String(16), nullable=False)
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    template_version: Mapped[int] = mapped_column(Integer, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    recipient: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_masked: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    body: Mapped[str] = mapped_column(Text, nullable=False)
    params: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    transport: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state"),
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        Index("ix_notify_message_case", "case_id", "id"),
        Index(
            "ix_notify_message_due", "next_attempt_at", postgresql_where=text("state = 'pending'")
        ),
        Index(
            "ix_notify_message_recipient_sent",
            "recipient_digest",
            "sent_at",
            postgresql_where=text("state = 'sent'"),
        ),
    )


class NotifyEvent(Base):
    """A case change whose messages are still to be written: one small row in the change's
    transaction; the sender expands it into :class:`NotifyMessage` rows and deletes it, in one
    transaction (notify.events)."""

    __tablename__ = "notify_event"
    __table_args__ = (Index("ix_notify_event_case", "case_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class NotifyOptOut(Base):
    """A resident's address that asked for no more messages (by its keyed digest only)."""

    __tablename__ = "notify_optout"

    recipient_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class NotifyFollow(Base):
    """Someone following a case or an area (town, community, estate): its public updates go to
    ``recipient`` (sealed; masked and digested like a reporter's address); ``token`` is the
    stop link's key, so the link never carries the address."""

    __tablename__ = "notify_follow"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    tracking_code: Mapped[str | None] = mapped_column(String(32))
    area_layer: Mapped[str | None] = mapped_column(String(32))
    area_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    recipient: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_masked: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirm_hash: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    confirm_ref: Mapped[str | None] = mapped_column(String(64))
    confirm_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirm_tries: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")

    __table_args__ = (Index("uq_notify_follow_ref", "confirm_ref", unique=True),)


class NotifyUnitContact(Base):
    """A unit's duty contact (e-mail box or mobile) for 督办 and report-in reminders: the
    address sealed, masked and digested like a resident's (``notify.unit_contacts``)."""

    __tablename__ = "notify_unit_contact"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    party: Mapped[str] = mapped_column(String(64), nullable=False)
    unit_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    label: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    recipient: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_masked: Mapped[str] = mapped_column(Text, nullable=False)
    recipient_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="unit_contact_channel"),
        UniqueConstraint("party", "unit_code", "recipient_digest", name="uq_unit_contact"),
    )


class NotifyFollowCounter(Base):
    """Follow requests per key (a digest of the client, the address, the case or area) in one
    fixed window (UNLOGGED: a crash forgets counts, nothing else); ``notify.follow_limits``."""

    __tablename__ = "notify_follow_counter"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
