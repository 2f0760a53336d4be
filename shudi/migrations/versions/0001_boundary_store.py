"""Boundary store: layers in versioned generations, subdivided parts for lookups.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:56:09.196677
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "boundary_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("feature_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(layer = 'agency_unit') = (agency <> '')",
            name=op.f("ck_boundary_generation_agency_only_for_units"),
        ),
        sa.CheckConstraint(
            "layer IN ('town', 'community', 'property_area', 'agency_unit')",
            name=op.f("ck_boundary_generation_layer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boundary_generation")),
    )
    op.create_table(
        "boundary",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), server_default="", nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), server_default="", nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column("property_company", sa.Text(), nullable=True),
        sa.Column("owners_committee", sa.Boolean(), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column(
            "attrs", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IS NULL OR kind IN ('town', 'subdistrict')", name=op.f("ck_boundary_kind")
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("ck_boundary_nonempty_geom")),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_boundary_valid_geom")),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["boundary_generation.id"],
            name=op.f("fk_boundary_generation_id_boundary_generation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boundary")),
        sa.UniqueConstraint("generation_id", "code", name="uq_boundary_generation_code"),
    )
    op.create_index(
        "ix_boundary_generation_parent", "boundary", ["generation_id", "parent_code"], unique=False
    )
    op.create_index("ix_boundary_geom", "boundary", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "generation_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), server_default="", nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_generation_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["boundary_generation.id"],
            name=op.f("fk_generation_period_generation_id_boundary_generation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_period")),
    )
    op.create_index(
        "uq_generation_period_one_active",
        "generation_period",
        ["layer", "agency"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "boundary_part",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("boundary_id", sa.BigInteger(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["boundary_id"],
            ["boundary.id"],
            name=op.f("fk_boundary_part_boundary_id_boundary"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boundary_part")),
    )
    op.create_index(
        op.f("ix_boundary_part_boundary_id"), "boundary_part", ["boundary_id"], unique=False
    )
    op.create_index(
        "ix_boundary_part_geom", "boundary_part", ["geom"], unique=False, postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_boundary_part_geom", table_name="boundary_part", postgresql_using="gist")
    op.drop_index(op.f("ix_boundary_part_boundary_id"), table_name="boundary_part")
    op.drop_table("boundary_part")
    op.drop_index(
        "uq_generation_period_one_active",
        table_name="generation_period",
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.drop_table("generation_period")
    op.drop_index("ix_boundary_geom", table_name="boundary", postgresql_using="gist")
    op.drop_index("ix_boundary_generation_parent", table_name="boundary")
    op.drop_table("boundary")
    op.drop_table("boundary_generation")
