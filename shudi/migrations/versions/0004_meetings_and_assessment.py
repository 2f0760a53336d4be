"""Joint meetings (agendas, attendees, decisions and actions).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PARTY_KINDS = (
    "town_government",
    "community_committee",
    "public_security",
    "market_regulation",
    "urban_management",
    "environmental_protection",
    "housing_construction",
    "housing_service_center",
    "property_company",
    "owners_committee",
    "utility",
    "planning",
    "price_bureau",
    "other",
)
ITEM_KINDS = (
    "overdue",
    "joint",
    "referred_repeatedly",
    "repeat_location",
    "dispute",
    "hotspot",
    "action_followup",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("town_code", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="regular", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("topic", sa.Text(), server_default="", nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("minutes_note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "figures", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("kind", ("regular", "extraordinary")), name=op.f("ck_meeting_kind")),
        sa.CheckConstraint(_in("status", ("draft", "held")), name=op.f("ck_meeting_status")),
        sa.CheckConstraint("EXTRACT(DAY FROM month) = 1", name=op.f("ck_meeting_month_first_day")),
        sa.CheckConstraint(
            "status <> 'held' OR held_on IS NOT NULL", name=op.f("ck_meeting_held_on")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_meeting_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["app_user.id"], name=op.f("fk_meeting_recorded_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    op.create_index(
        "uq_meeting_regular_month",
        "meeting",
        ["town_code", "month"],
        unique=True,
        postgresql_where=sa.text("kind = 'regular'"),
    )
    op.create_table(
        "meeting_attendee",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=False),
        sa.Column("party_kind", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.Text(), server_default="", nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            _in("party_kind", PARTY_KINDS), name=op.f("ck_meeting_attendee_party_kind")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_attendee_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendee")),
    )
    op.create_index(
        op.f("ix_meeting_attendee_meeting_id"), "meeting_attendee", ["meeting_id"], unique=False
    )
    op.create_table(
        "meeting_item",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "case_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False
        ),
        sa.Column(
            "data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("decision", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(_in("kind", ITEM_KINDS), name=op.f("ck_meeting_item_kind")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_item_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_item")),
    )
    op.create_index(
        op.f("ix_meeting_item_meeting_id"), "meeting_item", ["meeting_id"], unique=False
    )
    op.create_table(
        "meeting_action",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("meeting_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_kind", sa.Text(), nullable=False),
        sa.Column("owner_code", sa.Text(), nullable=False),
        sa.Column("owner_agency", sa.Text(), nullable=True),
        sa.Column("owner_name", sa.Text(), server_default="", nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_note", sa.Text(), server_default="", nullable=False),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            _in("owner_kind", ("agency", "agency_unit", "town")),
            name=op.f("ck_meeting_action_owner_kind"),
        ),
        sa.CheckConstraint(
            "owner_kind <> 'agency_unit' OR owner_agency IS NOT NULL",
            name=op.f("ck_meeting_action_unit_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["done_by"], ["app_user.id"], name=op.f("fk_meeting_action_done_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["meeting_item.id"],
            name=op.f("fk_meeting_action_item_id_meeting_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_action_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_action")),
    )
    op.create_index(
        op.f("ix_meeting_action_meeting_id"), "meeting_action", ["meeting_id"], unique=False
    )
    op.create_index(op.f("ix_meeting_action_item_id"), "meeting_action", ["item_id"], unique=False)
    op.create_index(
        "ix_meeting_action_open",
        "meeting_action",
        ["owner_kind", "owner_code", "due_on"],
        unique=False,
    )


def downgrade() -> None:
    for table in ("meeting_action", "meeting_item", "meeting_attendee", "meeting"):
        op.drop_table(table)
