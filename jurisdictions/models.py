"""ORM models of the boundary store: layers come in versioned generations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

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
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
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


class Agency(Base):
    """A party of the linkage mechanism (区公安局, 物业服务企业 …), loaded from agencies.yaml."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[int | None] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False)
    territorial: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    has_field_units: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    duties_zh: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    duties_en: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    kinds: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")


class ViolationType(Base):
    """One entry of the violation taxonomy (violation_types.yaml); kept when retired."""

    __tablename__ = "violation_type"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text, nullable=False)
    name_en: Mapped[str] = mapped_column(Text, nullable=False)
    agency: Mapped[str] = mapped_column(ForeignKey("agency.code"), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False)
    actions: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")
    reportable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source_ref: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")
    keywords: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")
    utility_kind: Mapped[str | None] = mapped_column(String(32))
    handover: Mapped[str | None] = mapped_column(String(64))
    participants: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    #: Cases of this type appear in no public listing (drugs, vice …: the reporter's safety).
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    #: resolving needs a photo from before and one from after (处置前后): remedy visible on site
    evidence: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")

    __table_args__ = (
        CheckConstraint(
            "scope IN ('enforcement', 'property_service', 'dispute', 'utility')", name="scope"
        ),
        Index("ix_violation_type_agency", "agency"),
    )


class Contact(Base):
    """Whom to call: per agency, optionally per agency unit, town or property area."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(ForeignKey("agency.code"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    """The kind of utility (water, power, gas, …) for the ``utility`` agency; else empty."""
    scope_layer: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    scope_code: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    office: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    person: Mapped[str] = mapped_column(Text, nullable=False)
    phone: Mapped[str] = mapped_column(String(32), nullable=False)
    hours: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("agency", "kind", "scope_layer", "scope_code", name="uq_contact_scope"),
        CheckConstraint(
            "scope_layer IN ('', 'town', 'community', 'property_area', 'agency_unit')",
            name="scope_layer",
        ),
        CheckConstraint("(scope_layer = '') = (scope_code = '')", name="scope_code"),
        Index("ix_contact_scope", "scope_layer", "scope_code"),
    )


class ReferenceData(Base):
    """The version (SHA-256 of the files) of a reference data set last loaded, e.g. taxonomy."""

    __tablename__ = "reference_data"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
