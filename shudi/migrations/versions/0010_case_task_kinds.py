"""Tasks in units' work lists: joint-enforcement parts, refusal reports, correction orders.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00

``case_task`` held only the parts of a joint-enforcement case. It now also holds what the
linkage mechanism sends to a unit's work list (三（二）): a refusal to correct reported to the
town and the competent enforcement department (``refusal_report``), a proposal that the town
coordinate joint enforcement (``joint_proposal``), a dispute the community could not settle
escalated to the town (``escalation``). Only ``joint`` tasks decide when a joint case is done.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = ("joint", "refusal_report", "joint_proposal", "escalation")


def upgrade() -> None:
    op.add_column(
        "case_task", sa.Column("kind", sa.String(32), nullable=False, server_default="joint")
    )
    op.add_column(
        "case_task",
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column("case_task", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_case_task_kind"),
        "case_task",
        "kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")",
    )
    op.create_index(
        "ix_case_task_party_unit_open",
        "case_task",
        ["party", "unit_code", "created_at"],
        postgresql_where=sa.text("NOT done"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_task_party_unit_open", table_name="case_task")
    op.drop_constraint(op.f("ck_case_task_kind"), "case_task", type_="check")
    op.drop_column("case_task", "due_at")
    op.drop_column("case_task", "created_at")
    op.drop_column("case_task", "kind")
