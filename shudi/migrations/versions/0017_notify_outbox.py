"""The notification outbox: messages stored with the case change that causes them, opt-outs,
and residents' optional e-mail address (sealed like the phone).

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 15:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_reporter", sa.Column("email", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "notify_message",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("recipient_masked", sa.Text(), nullable=False),
        sa.Column("recipient_digest", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("transport", sa.String(16), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'dead', 'suppressed')", name="ck_notify_message_state"
        ),
        sa.CheckConstraint(
            "channel IN ('sms', 'email', 'staff')", name="ck_notify_message_channel"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name="fk_notify_message_case_id_case_file",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notify_message"),
        sa.UniqueConstraint("key", name="uq_notify_message_key"),
    )
    op.create_index("ix_notify_message_case", "notify_message", ["case_id", "id"])
    op.create_index(
        "ix_notify_message_due",
        "notify_message",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_notify_message_recipient_sent",
        "notify_message",
        ["recipient_digest", "sent_at"],
        postgresql_where=sa.text("state = 'sent'"),
    )
    op.create_table(
        "notify_optout",
        sa.Column("recipient_digest", sa.String(64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("recipient_digest", name="pk_notify_optout"),
    )


def downgrade() -> None:
    op.drop_table("notify_optout")
    op.drop_table("notify_message")
    op.drop_column("case_reporter", "email")
