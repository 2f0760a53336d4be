"""The live map is pushed: every statement that writes ``case_file`` raises a notification.

Revision ID: 0031
Revises: 0027
Create Date: 2026-12-07 21:30:00

A statement-level trigger calls ``pg_notify('shudi_case_changed', '')`` after each INSERT or
UPDATE of ``case_file``. PostgreSQL delivers it when the transaction commits (never for one
rolled back) and folds identical notifications of one transaction into one, so a bulk
re-resolve of a million rows costs one notification. It carries no data: each server process
listens on one connection and, told that something changed, asks the live feed for the
changes since each open map's cursor (``incidents/live.py``), so no case, place or person
travels through the notification channel.
"""

from alembic import op

revision = "0031"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION case_file_notice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('shudi_case_changed', '');
          RETURN NULL;
        END $$""")
    op.execute(
        "CREATE TRIGGER case_file_notice AFTER INSERT OR UPDATE ON case_file "
        "FOR EACH STATEMENT EXECUTE FUNCTION case_file_notice()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER case_file_notice ON case_file")
    op.execute("DROP FUNCTION case_file_notice()")
