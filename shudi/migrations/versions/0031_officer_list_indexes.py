"""Indexes for the officers' lists (issue #17):

* ``ix_case_file_handler_due``: an agency officer's cases by deadline (``GET /api/v1/cases``,
  ``order=due``) read in index order from its agency's cases and stopped after the page,
  instead of walking every stored case's deadline and testing each for the agency;
* ``ix_case_task_party_case``: the cases in which an agency holds a task, done or not (the
  other half of what it sees), read from the index alone;
* ``ix_case_file_waiting``: the work list (我的待办) counts and orders every waiting case of a
  user from this partial index of the open cases alone (a unit's cases a range of it), instead
  of reading every stored case's row.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08 00:55:00
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_file_handler_due", "case_file", ["handler_party", "due_at", "id"])
    op.create_index("ix_case_task_party_case", "case_task", ["party", "unit_code", "case_id"])
    op.execute(
        """CREATE INDEX ix_case_file_waiting ON case_file (handler_party, status, due_at, id)
           INCLUDE (type_code, handler_unit_code, town_code, community_code)
           WHERE status NOT IN ('closed', 'rejected') AND merged_into IS NULL"""
    )


def downgrade() -> None:
    op.drop_index("ix_case_file_waiting", table_name="case_file")
    op.drop_index("ix_case_task_party_case", table_name="case_task")
    op.drop_index("ix_case_file_handler_due", table_name="case_file")
