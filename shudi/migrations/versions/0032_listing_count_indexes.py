"""Indexes for the staff's list of cases under the dispatch centre's load (issue #17):

* ``ix_case_file_overdue``: the overdue cases (``due_at < now()``, not resolved, closed or
  rejected) by deadline, with the columns the list filters on: ``overdue=true`` counted
  from a small index alone, its page read in deadline order (the filter is now spelled so
  that PostgreSQL can use it: :data:`incidents.listing.OVERDUE_FILTER`);
* ``ix_case_file_list_count``: town, status and deadline (and type) of every case, so the
  list's capped count (up to 10,001 matches) with ``overdue=false`` or a town reads a narrow
  index instead of the table's wide rows (about 1.8 kB each, the routing JSON inline). It
  starts with ``ix_case_file_town``'s two columns, which is dropped: every report writes each
  index of ``case_file``, so one that another serves is a cost with no reader.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-08 01:05:00
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE INDEX ix_case_file_overdue ON case_file (due_at, id)
           INCLUDE (status, town_code, type_code, handler_party, community_code, created_at)
           WHERE status NOT IN ('resolved', 'closed', 'rejected')"""
    )
    op.execute(
        """CREATE INDEX ix_case_file_list_count ON case_file (town_code, status, due_at)
           INCLUDE (type_code)"""
    )
    op.drop_index("ix_case_file_town", table_name="case_file")


def downgrade() -> None:
    op.create_index("ix_case_file_town", "case_file", ["town_code", "status"], unique=False)
    op.drop_index("ix_case_file_list_count", table_name="case_file")
    op.drop_index("ix_case_file_overdue", table_name="case_file")
