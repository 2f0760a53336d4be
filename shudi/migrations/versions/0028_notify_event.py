"""Notification events: a case change that tells people writes one small row here in its own
transaction (the case and the kind of change); the outbox's sender expands it into the
per-recipient, templated, sealed ``notify_message`` rows and deletes it in one transaction, so
nothing is lost between the change and its messages, and intake does not render or seal them.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "case_id",
            sa.BigInteger(),
            sa.ForeignKey("case_file.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("data", JSONB(), nullable=False, server_default="{}"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_notify_event_case", "notify_event", ["case_id"])


def downgrade() -> None:
    op.drop_table("notify_event")
