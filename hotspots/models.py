"""ORM model of the hot-spot cache: one computed answer per parameter set and data state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base


class HotspotResult(Base):
    """A cached answer, keyed by the parameters' hash and the state of the data it read.

    ``data_stamp`` is the case store's ``count``/``max(id)``/``max(updated_at)`` plus the
    active boundary generations: any new, changed or removed case or any boundary activation
    gives a new stamp, so a stale answer is never served (older answers for the same
    parameters are deleted when a new one is stored).
    """

    __tablename__ = "hotspot_result"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    params_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    data_stamp: Mapped[str] = mapped_column(String(200), nullable=False)
    params: Mapped[dict] = mapped_column(JSONB, nullable=False)
    media_type: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    n_points: Mapped[int] = mapped_column(Integer, nullable=False)
    seconds: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("uq_hotspot_result_key", "params_hash", "data_stamp", unique=True),)
