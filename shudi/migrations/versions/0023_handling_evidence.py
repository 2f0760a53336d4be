"""Handling evidence (处置前后): photos by stage, and the types whose resolution needs them.

Revision ID: 0023
Revises: 0018
Create Date: 2026-12-07 18:40:00

``case_photo.stage`` says what a photo shows: ``report`` (sent with the report), ``before`` or
``after`` (taken by the handling unit before and after it dealt with the matter);
``added_by`` is the staff user who added a ``before``/``after`` photo. ``violation_type.evidence``
marks the types whose remedy can be seen on site: resolving such a case needs a photo from
before (the report's or the handler's) and one from after.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "case_photo", sa.Column("stage", sa.String(8), nullable=False, server_default="report")
    )
    op.create_check_constraint(
        op.f("ck_case_photo_stage"), "case_photo", "stage IN ('report', 'before', 'after')"
    )
    op.add_column(
        "case_photo",
        sa.Column("added_by", sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL")),
    )
    op.add_column(
        "violation_type",
        sa.Column("evidence", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("violation_type", "evidence")
    op.drop_column("case_photo", "added_by")
    op.drop_constraint(op.f("ck_case_photo_stage"), "case_photo", type_="check")
    op.drop_column("case_photo", "stage")
