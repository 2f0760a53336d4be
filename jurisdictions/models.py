"""ORM models of the boundary store: layers come in versioned generations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shudi.orm import Base

SRID = 4326


class Layer(StrEnum):
    """The boundary layers; property areas nest in communities, communities in towns."""

    town = "town"
    community = "community"
    property_area = "property_area"
    agency_unit = "agency_unit"


#: Each layer's parent layer (agency units and towns have none in the store).
PARENT_LAYER: dict[Layer, Layer | None] = {
    Layer.town: None,
    Layer.community: Layer.town,
    Layer.property_area: Layer.community,
    Layer.agency_unit: None,
}


class BoundaryGeneration(Base):
    """One imported version of a layer (for agency units: of one agency's units)."""

    __tablename__ = "boundary_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    agency: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    feature_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(
            "layer IN ('town', 'community', 'property_area', 'agency_unit')", name="layer"
        ),
        CheckConstraint("(layer = 'agency_unit') = (agency <> '')", name="agency_only_for_units"),
    )


class GenerationPeriod(Base):
    """When a generation was the active one; open-ended while it still is."""

    __tablename__ = "generation_period"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("boundary_generation.id", ondelete="CASCADE"), nullable=False
    )
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    agency: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="ordered"),
        Index(
            "uq_generation_period_one_active",
            "layer",
            "agency",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )


class Boundary(Base):
    """One area of one generation, e.g. a community committee's territory."""

    __tablename__ = "boundary"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("boundary_generation.id", ondelete="CASCADE"), nullable=False
    )
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    agency: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    kind: Mapped[str | None] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    property_company: Mapped[str | None] = mapped_column(Text)
    owners_committee: Mapped[bool | None] = mapped_column(Boolean)
    households: Mapped[int | None] = mapped_column(Integer)
    attrs: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False)

    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="uq_boundary_generation_code"),
        CheckConstraint("ST_IsValid(geom)", name="valid_geom"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="nonempty_geom"),
        CheckConstraint("kind IS NULL OR kind IN ('town', 'subdistrict')", name="kind"),
        Index("ix_boundary_geom", "geom", postgresql_using="gist"),
        Index("ix_boundary_generation_parent", "generation_id", "parent_code"),
    )


class BoundaryPart(Base):
    """Subdivided pieces of a boundary (``ST_Subdivide``) for fast point lookups."""

    __tablename__ = "boundary_part"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    boundary_id: Mapped[int] = mapped_column(
        ForeignKey("boundary.id", ondelete="CASCADE"), nullable=False, index=True
    )
    generation_id: Mapped[int] = mapped_column(Integer, nullable=False)
    geom = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=False), nullable=False)

    __table_args__ = (Index("ix_boundary_part_geom", "geom", postgresql_using="gist"),)
