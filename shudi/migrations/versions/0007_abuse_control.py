"""Abuse control: windowed rate counters (unlogged) and the ban list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Unlogged: counters are cheap to write and a crash merely forgets them.
    op.execute("""
        CREATE UNLOGGED TABLE rate_counter (
            key text NOT NULL,
            window_start timestamptz NOT NULL,
            count integer NOT NULL,
            CONSTRAINT pk_rate_counter PRIMARY KEY (key, window_start)
        )""")
    op.create_table(
        "ban",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('ip', 'phone')", name="ck_ban_kind"),
        sa.CheckConstraint("length(reason) > 0", name="ck_ban_reason"),
        sa.PrimaryKeyConstraint("id", name="pk_ban"),
    )
    op.create_index("ix_ban_kind_value", "ban", ["kind", "value"])


def downgrade() -> None:
    op.drop_index("ix_ban_kind_value", table_name="ban")
    op.drop_table("ban")
    op.drop_table("rate_counter")
