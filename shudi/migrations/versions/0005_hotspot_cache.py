"""Hotspot analysis results cached per parameter set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:58:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspot_result",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("data_stamp", sa.String(length=200), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_result")),
    )
    op.create_index(
        "uq_hotspot_result_key", "hotspot_result", ["params_hash", "data_stamp"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_hotspot_result_key", table_name="hotspot_result")
    op.drop_table("hotspot_result")
