"""Personal data sealed at rest (wider phone column) and every read of it recorded.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 00:10:00

``pii_access`` rows are copied into the hash-chained audit log by the same trigger as the
admin tables (0006), and the application role may only add to them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "shudi_app"


def upgrade() -> None:
    op.alter_column("case_reporter", "phone", type_=sa.Text(), existing_nullable=False)
    op.create_table(
        "pii_access",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pii_access"),
    )
    op.create_index("ix_pii_access_case_id", "pii_access", ["case_id"])
    op.execute(
        "CREATE TRIGGER pii_access_audit AFTER INSERT OR UPDATE OR DELETE ON pii_access "
        "FOR EACH ROW EXECUTE FUNCTION audit_admin_change('id')"
    )
    op.execute(
        f"""DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            REVOKE UPDATE, DELETE, TRUNCATE ON pii_access FROM {APP_ROLE};
          END IF;
        END $$;"""
    )


def downgrade() -> None:
    op.drop_table("pii_access")
    op.alter_column("case_reporter", "phone", type_=sa.String(32), existing_nullable=False)
