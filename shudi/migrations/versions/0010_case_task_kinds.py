"""Tasks in units' work lists: joint-enforcement parts, refusal reports, correction orders.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00

``case_task`` held only the parts of a joint-enforcement case. It now also holds what the
linkage mechanism sends to a unit's work list (三（二）): a refusal to correct reported to the
town and the competent enforcement department (``refusal_report``), a proposal that the town
coordinate joint enforcement (``joint_proposal``), a dispute the community could not settle
escalated to the town (``escalation``). Only ``joint`` tasks decide when a joint case is done.

``meeting_item.kind`` gains ``missed_meeting``: an agenda item for a month in which the town
held no joint meeting (三（一）: 联席会议一般每月召开一次).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = ("joint", "refusal_report", "joint_proposal", "escalation")
#: Agenda item kinds: those of 0004 and ``missed_meeting`` (a month without a joint meeting).
OLD_ITEM_KINDS = (
    "overdue",
    "joint",
    "referred_repeatedly",
    "repeat_location",
    "dispute",
    "hotspot",
    "action_followup",
)
ITEM_KINDS = (*OLD_ITEM_KINDS, "missed_meeting")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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
    op.create_check_constraint(op.f("ck_case_task_kind"), "case_task", _in("kind", KINDS))
    op.drop_constraint(op.f("ck_meeting_item_kind"), "meeting_item", type_="check")
    op.create_check_constraint(
        op.f("ck_meeting_item_kind"), "meeting_item", _in("kind", ITEM_KINDS)
    )
    op.create_index(
        "ix_case_task_party_unit_open",
        "case_task",
        ["party", "unit_code", "created_at"],
        postgresql_where=sa.text("NOT done"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM meeting_item WHERE kind = 'missed_meeting'")
    op.drop_constraint(op.f("ck_meeting_item_kind"), "meeting_item", type_="check")
    op.create_check_constraint(
        op.f("ck_meeting_item_kind"), "meeting_item", _in("kind", OLD_ITEM_KINDS)
    )
    op.drop_index("ix_case_task_party_unit_open", table_name="case_task")
    op.drop_constraint(op.f("ck_case_task_kind"), "case_task", type_="check")
    op.drop_column("case_task", "due_at")
    op.drop_column("case_task", "created_at")
    op.drop_column("case_task", "kind")
