"""Followers: anyone may follow a case (by its tracking code) or an area (a town, community
or estate) and be told of its public updates by SMS or e-mail through the outbox. The address
is sealed like a reporter's (shudi.pii) with a masked form and a keyed digest; the token in the
stop link identifies the follow, never the address.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_follow",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("case_file.id", ondelete="CASCADE")),
        sa.Column("tracking_code", sa.String(32)),  # the code the follower gave (its link)
        sa.Column("area_layer", sa.String(32)),
        sa.Column("area_code", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("recipient_masked", sa.Text(), nullable=False),
        sa.Column("recipient_digest", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="follow_channel"),
        sa.CheckConstraint(
            "(case_id IS NOT NULL AND area_layer IS NULL AND area_code IS NULL) OR "
            "(case_id IS NULL AND area_layer IN ('town', 'community', 'property_area') "
            "AND area_code IS NOT NULL)",
            name="follow_target",
        ),
    )
    op.create_index(
        "uq_notify_follow_target",
        "notify_follow",
        [
            sa.text("coalesce(case_id, 0)"),
            sa.text("coalesce(area_layer, '')"),
            sa.text("coalesce(area_code, '')"),
            "recipient_digest",
        ],
        unique=True,
    )
    op.create_index("ix_notify_follow_case", "notify_follow", ["case_id"])
    op.create_index("ix_notify_follow_area", "notify_follow", ["area_layer", "area_code"])


def downgrade() -> None:
    op.drop_table("notify_follow")
