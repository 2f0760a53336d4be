"""Tables of abuse control: windowed counters (unlogged) and bans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base

BAN_KINDS = ("ip", "phone")


class RateCounter(Base):
    """Requests per key in one fixed window (UNLOGGED: a crash forgets counts, nothing else)."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class Ban(Base):
    """A client address or phone number whose reports are refused, with why and until when."""

    __tablename__ = "ban"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"kind IN {BAN_KINDS!r}", name="kind"),
        CheckConstraint("length(reason) > 0", name="reason"),
        Index("ix_ban_kind_value", "kind", "value"),
    )
