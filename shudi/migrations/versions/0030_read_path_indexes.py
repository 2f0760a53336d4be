"""Indexes for the dispatch centre's read paths under load (issue #17):

* ``ix_case_file_open_feed``: the live map's full load (every open case, ten columns) read from
  a partial covering index of the open cases (a quarter of the table) instead of a sequential
  scan of every stored case;
* ``ix_case_file_created_id``: the dispatcher's queue (``order=newest``: latest reported first)
  read in index order and stopped after the page, instead of sorting every matching case.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 21:30:00
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE INDEX ix_case_file_open_feed ON case_file (id)
           INCLUDE (lon, lat, status, handler_party, type_code, town_code, due_at, version,
                    updated_at, merged_into)
           WHERE status NOT IN ('closed', 'rejected') AND merged_into IS NULL"""
    )
    op.create_index("ix_case_file_created_id", "case_file", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_file_created_id", table_name="case_file")
    op.drop_index("ix_case_file_open_feed", table_name="case_file")
