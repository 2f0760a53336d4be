"""Live-map cursor by transaction id, and indexes for case lists and reporters.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 01:00:00

``case_file.changed_xid`` is the id of the transaction that last wrote the row (set on insert
by its default, on update by a trigger). A feed answer's cursor is the oldest transaction
still running when it was made (``pg_snapshot_xmin``); asking for ``changed_xid >= cursor``
next time cannot miss a change, however long its transaction ran or whatever the clocks say.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE case_file ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id()"
    )
    op.execute("""
        CREATE FUNCTION case_file_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.changed_xid := pg_current_xact_id();
          RETURN NEW;
        END $$""")
    op.execute(
        "CREATE TRIGGER case_file_changed BEFORE UPDATE ON case_file "
        "FOR EACH ROW EXECUTE FUNCTION case_file_changed()"
    )
    op.create_index("ix_case_file_changed_xid", "case_file", ["changed_xid"])
    op.create_index("ix_case_file_due_at_id", "case_file", ["due_at", "id"])
    op.create_index(
        "ix_case_file_merged_into",
        "case_file",
        ["merged_into"],
        postgresql_where="merged_into IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_case_file_merged_into", table_name="case_file")
    op.drop_index("ix_case_file_due_at_id", table_name="case_file")
    op.drop_index("ix_case_file_changed_xid", table_name="case_file")
    op.execute("DROP TRIGGER case_file_changed ON case_file")
    op.execute("DROP FUNCTION case_file_changed()")
    op.execute("ALTER TABLE case_file DROP COLUMN changed_xid")
