"""The linkage mechanism as data: agencies, violation types, published contacts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:10:09.266026
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("party", sa.Integer(), nullable=True),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("territorial", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("has_field_units", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("duties_zh", sa.Text(), server_default="", nullable=False),
        sa.Column("duties_en", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "kinds", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agency")),
    )
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("scope_layer", sa.String(length=32), server_default="", nullable=False),
        sa.Column("scope_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("office", sa.Text(), server_default="", nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("hours", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(scope_layer = '') = (scope_code = '')", name=op.f("ck_contact_scope_code")
        ),
        sa.CheckConstraint(
            "scope_layer IN ('', 'town', 'community', 'property_area', 'agency_unit')",
            name=op.f("ck_contact_scope_layer"),
        ),
        sa.ForeignKeyConstraint(["agency"], ["agency.code"], name=op.f("fk_contact_agency_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("agency", "scope_layer", "scope_code", name="uq_contact_scope"),
    )
    op.create_table(
        "violation_type",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column(
            "actions", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("reportable", sa.Boolean(), nullable=False),
        sa.Column(
            "source_ref",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "keywords", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("utility_kind", sa.String(length=32), nullable=True),
        sa.Column("handover", sa.String(length=64), nullable=True),
        sa.Column(
            "participants",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint(
            "scope IN ('enforcement', 'property_service', 'dispute', 'utility')",
            name=op.f("ck_violation_type_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["agency"], ["agency.code"], name=op.f("fk_violation_type_agency_agency")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_violation_type")),
    )
    op.create_index("ix_violation_type_agency", "violation_type", ["agency"])
    op.create_index("ix_contact_scope", "contact", ["scope_layer", "scope_code"])


def downgrade() -> None:
    op.drop_table("violation_type")
    op.drop_table("contact")
    op.drop_table("agency")
