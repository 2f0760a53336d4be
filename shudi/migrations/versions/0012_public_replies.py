"""Public replies on case events and sensitive violation types (issue 19).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:00:00

``case_event.public_reply`` is what an action says *to the public* (Open311 ``status_notes`` and
notes, the tracking page); ``note`` stays the staff's and is never published.
``violation_type.sensitive`` marks the types (drugs, vice, gambling and intimidation, pyramid
selling) whose cases no public listing shows. The audit payload also digests the public reply.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PAYLOAD = """
CREATE OR REPLACE FUNCTION audit_event_payload(e case_event) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'event_id', e.id, 'case_id', e.case_id,
    'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor_id', e.actor_id, 'actor_role', e.actor_role, 'action', e.action,
    'from_status', e.from_status, 'to_status', e.to_status, 'public', e.public,
    'note_sha256', encode(sha256(convert_to(e.note, 'UTF8')), 'hex'),
    'data_sha256', encode(sha256(convert_to(e.data::text, 'UTF8')), 'hex'))
    || CASE WHEN e.public_reply = '' THEN '{}'::jsonb ELSE jsonb_build_object(
         'public_reply_sha256', encode(sha256(convert_to(e.public_reply, 'UTF8')), 'hex'))
       END
$$;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE case_event ADD COLUMN public_reply text NOT NULL DEFAULT ''")
    op.execute("ALTER TABLE violation_type ADD COLUMN sensitive boolean NOT NULL DEFAULT false")
    op.execute(PAYLOAD)


def downgrade() -> None:
    op.execute(PAYLOAD.split("    || CASE")[0] + "\n$$;")
    op.execute("ALTER TABLE violation_type DROP COLUMN sensitive")
    op.execute("ALTER TABLE case_event DROP COLUMN public_reply")
