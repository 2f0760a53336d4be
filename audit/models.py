"""The audit log table (created by migration 0006 with its triggers and sealer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from shudi.orm import Base


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "xid8"


class AuditEntry(Base):
    """One audited change; ``seq`` and ``hash`` are set once, by the sealer.

    Rows are written by triggers only (``audit_case_event``, ``audit_admin_change``); the
    application role may read them and call ``audit_seal()``, nothing else.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    xid: Mapped[int] = mapped_column(Xid8, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    table_name: Mapped[str] = mapped_column(Text, nullable=False)
    op: Mapped[str] = mapped_column(Text, nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    db_user: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # migration 0018
    request_id: Mapped[str | None] = mapped_column(Text)  # migration 0018
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    hash: Mapped[bytes | None] = mapped_column(LargeBinary)
