"""A GiST index of open cases' points, and the version of the reference data loaded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00

``ix_case_file_open_geom`` serves the in-database re-resolve of open cases on every boundary
activation (``jurisdictions.bulk.owners`` over ``status NOT IN ('closed', 'rejected')``): it
probes the open cases only, however many closed or imported ones the table holds.

``reference_data`` remembers, per data set (``taxonomy``: the parties and violation types of
the linkage mechanism), the SHA-256 of the files last loaded, so that ``shudi db migrate``
loads them once on an empty database and again only when the files change.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_file_open_geom",
        "case_file",
        ["geom"],
        postgresql_using="gist",
        postgresql_where="status NOT IN ('closed', 'rejected')",
    )
    op.create_table(
        "reference_data",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("counts", postgresql.JSONB(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reference_data")),
    )
    # which version of the rules was loaded when is administration: audited like `agency`
    op.execute(
        "CREATE TRIGGER reference_data_audit AFTER INSERT OR UPDATE OR DELETE ON reference_data "
        "FOR EACH ROW EXECUTE FUNCTION audit_admin_change('name')"
    )


def downgrade() -> None:
    op.drop_table("reference_data")
    op.drop_index("ix_case_file_open_geom", table_name="case_file")
