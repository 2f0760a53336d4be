"""回访 and satisfaction: residents' survey answers and dispatchers' return visits, kept apart
from the workflow's "resolved"; reviewed exclusions of unreasonable ratings.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 19:40:00

``case_followup`` holds one row per answer: ``source`` ``survey`` (the resident, once per
reporter) or ``visit`` (a dispatcher's 回访 call, once per ``return_visit`` task); ``reached``
false for a call nobody answered; ``resolved`` is what the resident says (not the workflow's
status); ``satisfaction`` 1–5. ``followup_exclusion`` is a dispatcher's proposal to leave a
case's answers out of the rates (an unreasonable demand), reviewed by a town coordinator or an
admin other than the proposer. Both tables are covered by the audit trigger.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

OLD_KINDS = ("joint", "refusal_report", "joint_proposal", "escalation")
KINDS = (*OLD_KINDS, "return_visit")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_case_task_kind"), "case_task", type_="check")
    op.create_check_constraint(op.f("ck_case_task_kind"), "case_task", _in("kind", KINDS))
    op.create_table(
        "case_followup",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "case_id",
            sa.BigInteger,
            sa.ForeignKey("case_file.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column(
            "reporter_id", sa.BigInteger, sa.ForeignKey("case_reporter.id", ondelete="SET NULL")
        ),
        sa.Column("task_id", sa.BigInteger, sa.ForeignKey("case_task.id", ondelete="SET NULL")),
        sa.Column("reached", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("resolved", sa.Boolean),
        sa.Column("satisfaction", sa.SmallInteger),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_by", sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("source IN ('survey', 'visit')", name=op.f("ck_case_followup_source")),
        sa.CheckConstraint(
            "satisfaction BETWEEN 1 AND 5", name=op.f("ck_case_followup_satisfaction")
        ),
        sa.CheckConstraint(
            "reached OR (resolved IS NULL AND satisfaction IS NULL)",
            name=op.f("ck_case_followup_unreached"),
        ),
    )
    op.create_index("ix_case_followup_case", "case_followup", ["case_id", "created_at"])
    op.create_index(
        "uq_case_followup_survey",
        "case_followup",
        ["case_id", "reporter_id"],
        unique=True,
        postgresql_where=sa.text("source = 'survey'"),
    )
    op.create_index(
        "uq_case_followup_visit",
        "case_followup",
        ["task_id"],
        unique=True,
        postgresql_where=sa.text("source = 'visit' AND reached"),
    )
    op.create_table(
        "followup_exclusion",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "case_id",
            sa.BigInteger,
            sa.ForeignKey("case_file.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("proposed_by", sa.Integer, sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column(
            "proposed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("reviewed_by", sa.Integer, sa.ForeignKey("app_user.id")),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("review_note", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected')", name=op.f("ck_followup_exclusion_state")
        ),
        sa.CheckConstraint(
            "(state = 'pending') = (reviewed_by IS NULL) AND reviewed_by IS DISTINCT FROM proposed_by",
            name=op.f("ck_followup_exclusion_reviewer"),
        ),
    )
    for table in ("case_followup", "followup_exclusion"):
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_admin_change('id')"
        )


def downgrade() -> None:
    op.drop_table("followup_exclusion")
    op.drop_table("case_followup")
    op.execute("DELETE FROM case_task WHERE kind = 'return_visit'")
    op.drop_constraint(op.f("ck_case_task_kind"), "case_task", type_="check")
    op.create_check_constraint(op.f("ck_case_task_kind"), "case_task", _in("kind", OLD_KINDS))
