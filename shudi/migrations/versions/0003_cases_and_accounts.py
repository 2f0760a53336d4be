"""Cases (with reporters, append-only events, joint tasks, photos, idempotency keys) and
staff accounts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:26:47.056179
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", "scope", name=op.f("pk_idempotency_key")),
    )
    op.create_index("ix_idempotency_key_created", "idempotency_key", ["created_at"], unique=False)
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), server_default="", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("agency_unit", sa.String(length=64), nullable=True),
        sa.Column("town_code", sa.String(length=64), nullable=True),
        sa.Column("community_code", sa.String(length=64), nullable=True),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role <> 'agency_officer' OR agency IS NOT NULL",
            name=op.f("ck_app_user_officer_agency"),
        ),
        sa.CheckConstraint(
            "role <> 'community_worker' OR community_code IS NOT NULL",
            name=op.f("ck_app_user_community"),
        ),
        sa.CheckConstraint(
            "role <> 'property_company' OR company IS NOT NULL", name=op.f("ck_app_user_company")
        ),
        sa.CheckConstraint(
            "role <> 'town_coordinator' OR town_code IS NOT NULL", name=op.f("ck_app_user_town")
        ),
        sa.CheckConstraint(
            "role IN ('dispatcher', 'agency_officer', 'town_coordinator', 'community_worker', 'property_company', 'planner', 'admin')",
            name=op.f("ck_app_user_role"),
        ),
        sa.ForeignKeyConstraint(
            ["agency"], ["agency.code"], name=op.f("fk_app_user_agency_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "auth_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_auth_token_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_token")),
    )
    op.create_index("ix_auth_token_expires", "auth_token", ["expires_at"], unique=False)
    op.create_table(
        "case_file",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("type_code", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), server_default="ordinary", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="reported", nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("address_text", sa.Text(), server_default="", nullable=False),
        sa.Column("input_crs", sa.String(length=16), server_default="wgs84", nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("town_code", sa.String(length=64), nullable=True),
        sa.Column("community_code", sa.String(length=64), nullable=True),
        sa.Column("property_area_code", sa.String(length=64), nullable=True),
        sa.Column("property_company", sa.Text(), nullable=True),
        sa.Column(
            "agency_units",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("handler_party", sa.String(length=64), nullable=False),
        sa.Column("handler_unit_code", sa.String(length=64), nullable=True),
        sa.Column("handler_name", sa.Text(), server_default="", nullable=False),
        sa.Column("routing", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("generations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("respond_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_basis", sa.Text(), server_default="", nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.Text(), server_default="", nullable=False),
        sa.Column("rejection_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.Column("satisfaction", sa.String(length=16), nullable=True),
        sa.Column("hidden", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('fixed', 'not_fixed', 'not_our_matter', 'duplicate')",
            name=op.f("ck_case_file_outcome"),
        ),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction IN ('satisfied', 'dissatisfied')",
            name=op.f("ck_case_file_satisfaction"),
        ),
        sa.CheckConstraint(
            "status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected', 'referred', 'joint', 'postponed', 'reopened')",
            name=op.f("ck_case_file_status"),
        ),
        sa.CheckConstraint(
            "urgency IN ('emergency', 'urgent', 'ordinary', 'complex')",
            name=op.f("ck_case_file_urgency"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_case_file_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["case_file.id"], name=op.f("fk_case_file_merged_into_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["violation_type.code"],
            name=op.f("fk_case_file_type_code_violation_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_case_file_tracking_code")),
    )
    op.create_index(
        "ix_case_file_community", "case_file", ["community_code", "status"], unique=False
    )
    op.create_index(
        "ix_case_file_geom", "case_file", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_case_file_handler",
        "case_file",
        ["handler_party", "handler_unit_code", "status"],
        unique=False,
    )
    op.create_index(
        "ix_case_file_open",
        "case_file",
        ["status", "due_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'referred', 'joint', 'postponed', 'reopened')"
        ),
    )
    op.create_index("ix_case_file_town", "case_file", ["town_code", "status"], unique=False)
    op.create_index(
        "ix_case_file_type_created", "case_file", ["type_code", "created_at"], unique=False
    )
    op.create_index("ix_case_file_updated", "case_file", ["updated_at"], unique=False)
    op.create_table(
        "case_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("actor_label", sa.Text(), server_default="", nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("public", sa.Boolean(), server_default="true", nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_case_event_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_event_case_id_case_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index("ix_case_event_case", "case_event", ["case_id", "id"], unique=False)
    op.create_table(
        "case_photo",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_photo_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_photo")),
    )
    op.create_index(op.f("ix_case_photo_case_id"), "case_photo", ["case_id"], unique=False)
    op.create_table(
        "case_reporter",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("contact_name", sa.Text(), server_default="", nullable=False),
        sa.Column("phone", sa.String(length=32), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_reporter_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reporter")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_case_reporter_tracking_code")),
    )
    op.create_index(op.f("ix_case_reporter_case_id"), "case_reporter", ["case_id"], unique=False)
    op.create_table(
        "case_task",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("unit_name", sa.Text(), server_default="", nullable=False),
        sa.Column("done", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_task_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["party"], ["agency.code"], name=op.f("fk_case_task_party_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_task")),
    )
    op.create_index(op.f("ix_case_task_case_id"), "case_task", ["case_id"], unique=False)
    op.execute(APPEND_ONLY)


APPEND_ONLY = """
CREATE FUNCTION shudi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event
  FOR EACH ROW EXECUTE FUNCTION shudi_append_only();
CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event
  FOR EACH STATEMENT EXECUTE FUNCTION shudi_append_only();
"""


def downgrade() -> None:
    for table in (
        "idempotency_key",
        "case_photo",
        "case_task",
        "case_event",
        "case_reporter",
        "case_file",
        "api_key",
        "auth_token",
        "app_user",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS shudi_append_only() CASCADE")
