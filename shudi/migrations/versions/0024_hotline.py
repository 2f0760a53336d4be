"""The hotline (12345) work-order link: the platforms' signing secrets beside their API keys,
the orders received (idempotent on the order number, parked when they cannot be placed), and
the outbox's ``hotline`` channel for the callbacks.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 19:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


CHANNEL_CHECK = "ck_notify_message_ck_notify_message_channel"  # as the naming convention made it


def _channels(allowed: str) -> None:
    op.execute(f"ALTER TABLE notify_message DROP CONSTRAINT {CHANNEL_CHECK}")
    op.execute(
        f"ALTER TABLE notify_message ADD CONSTRAINT {CHANNEL_CHECK} CHECK (channel IN ({allowed}))"
    )


def upgrade() -> None:
    op.create_table(
        "hotline_key",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("api_key_id"),
    )
    op.create_table(
        "hotline_order",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("body_digest", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("type_code", sa.String(64), nullable=False),
        sa.Column("order", postgresql.JSONB(), nullable=False),
        sa.Column("candidates", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("park_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("time_limit", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('filed', 'parked')", name="state"),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["filed_by"], ["app_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key_id", "order_no", name="uq_hotline_order_number"),
    )
    op.create_index("ix_hotline_order_case", "hotline_order", ["case_id"])
    op.create_index(
        "ix_hotline_order_parked",
        "hotline_order",
        ["received_at"],
        postgresql_where=sa.text("state = 'parked'"),
    )
    _channels("'sms', 'email', 'staff', 'hotline'")


def downgrade() -> None:
    op.execute("DELETE FROM notify_message WHERE channel = 'hotline'")
    _channels("'sms', 'email', 'staff'")
    op.drop_table("hotline_order")
    op.drop_table("hotline_key")
