"""Access control: failed log-ins (for throttling) and audit rows for bans and meetings.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:40:00

``login_failure`` keeps one row per failed log-in (user name as typed, client address, time);
``accounts.throttle`` counts them per account and per address over a window and refuses
log-ins past the limits. Rows older than a day are deleted as new ones arrive.

Bans and meeting changes (the meeting, its attendees, items and actions) are copied into the
hash-chained audit log by the same trigger as the other administrative tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

AUDITED = ("ban", "meeting", "meeting_attendee", "meeting_item", "meeting_action")


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_login_failure_username_at", "login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address_at", "login_failure", ["address", "at"])
    for table in AUDITED:
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_admin_change('id')"
        )


def downgrade() -> None:
    for table in AUDITED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_audit ON {table}")
    op.drop_table("login_failure")
