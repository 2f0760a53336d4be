"""吹哨报到: the response clock of each unit called to a joint enforcement.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 19:40:00

One row per joint ``case_task``: when the unit must report in (报到) and finish, when and where
it reported in (WGS84 point, the phone's stated accuracy and the distance to the case's place),
and the town's rating of its response (1–5). Written only by ``incidents.report_in``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_response",
        sa.Column(
            "task_id",
            sa.BigInteger,
            sa.ForeignKey("case_task.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis_zh", sa.Text, nullable=False, server_default=""),
        sa.Column("reported_at", sa.DateTime(timezone=True)),
        sa.Column("reported_by", sa.BigInteger),
        sa.Column("report_lon", sa.Float),
        sa.Column("report_lat", sa.Float),
        sa.Column("report_accuracy_m", sa.Float),
        sa.Column("report_distance_m", sa.Float),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("rated_by", sa.BigInteger),
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        sa.Column("rating_note", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_task_response_rating")),
        sa.CheckConstraint(
            "(reported_at IS NULL) = (report_lon IS NULL)", name=op.f("ck_task_response_where")
        ),
    )
    op.create_index(
        "ix_task_response_open",
        "task_response",
        ["report_due_at"],
        postgresql_where=sa.text("reported_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_task_response_open", table_name="task_response")
    op.drop_table("task_response")
