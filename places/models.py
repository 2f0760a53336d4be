"""ORM models of place search (migration ``0015``), for Alembic's comparison; the tables are
written by :mod:`places.store` only."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base


class PlaceDataset(Base):
    """One imported gazetteer (``shudi places import``)."""

    __tablename__ = "place_dataset"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    feature_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Place(Base):
    """A searchable name: an active boundary's, or a gazetteer row's."""

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    pinyin: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    initials: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    syllables: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    context: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("boundary_generation.id", ondelete="CASCADE")
    )
    dataset: Mapped[str | None] = mapped_column(
        ForeignKey("place_dataset.name", ondelete="CASCADE")
    )
    attrs: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    point = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    west: Mapped[float] = mapped_column(Float, nullable=False)
    south: Mapped[float] = mapped_column(Float, nullable=False)
    east: Mapped[float] = mapped_column(Float, nullable=False)
    north: Mapped[float] = mapped_column(Float, nullable=False)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('estate', 'community', 'town', 'road', 'address', 'poi')", name="kind"
        ),
        CheckConstraint("name <> ''", name="name"),
        CheckConstraint("(generation_id IS NULL) <> (dataset IS NULL)", name="one_source"),
        Index(
            "uq_place_generation_code",
            "generation_id",
            "code",
            unique=True,
            postgresql_where=text("generation_id IS NOT NULL"),
        ),
        Index(
            "uq_place_dataset_kind_code",
            "dataset",
            "kind",
            "code",
            unique=True,
            postgresql_where=text("dataset IS NOT NULL"),
        ),
        Index(
            "ix_place_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index("ix_place_pinyin", "pinyin", postgresql_ops={"pinyin": "text_pattern_ops"}),
        Index("ix_place_initials", "initials", postgresql_ops={"initials": "text_pattern_ops"}),
        Index("ix_place_geom", "geom", postgresql_using="gist"),
        Index("ix_place_kind", "kind"),
    )
