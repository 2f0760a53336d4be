"""督办 reaches people, and follows are confirmed before they are used.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 21:30:00

* ``notify_unit_contact``: the duty contacts (an e-mail box or a mobile) of a unit — an
  agency, one of its field units, a town, a community — to which deadline reminders (督办) and
  joint-enforcement report-in reminders go beside the work-notice channel. The address is
  sealed (shudi.pii, column ``notify_recipient``) with a masked form and a keyed digest.
  Written only by ``notify.unit_contacts``.
* ``notify_follow`` gains ``confirmed_at`` and ``confirm_hash``: a follow by e-mail or phone is
  used only once its owner confirmed it (link or code), so nobody can be subscribed by someone
  else; ``confirm_ref`` names the pending follow on the confirmation form (not the stop
  link's token), ``confirm_tries`` counts wrong codes. ``notify_follow_counter`` holds the
  follow requests' rate-limit windows (keys are digests: no address, no IP). Follows made
  before this revision were made by their owners' request on the old rules;
  they are kept as confirmed (their messages carry a stop link).
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_unit_contact",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("label", sa.Text(), nullable=False, server_default=""),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("recipient_masked", sa.Text(), nullable=False),
        sa.Column("recipient_digest", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="unit_contact_channel"),
        sa.UniqueConstraint("party", "unit_code", "recipient_digest", name="uq_unit_contact"),
    )
    op.add_column("notify_follow", sa.Column("confirmed_at", sa.DateTime(timezone=True)))
    op.add_column(
        "notify_follow",
        sa.Column("confirm_hash", sa.String(64), nullable=False, server_default=""),
    )
    op.add_column("notify_follow", sa.Column("confirm_ref", sa.String(64)))
    op.add_column("notify_follow", sa.Column("confirm_sent_at", sa.DateTime(timezone=True)))
    op.add_column(
        "notify_follow",
        sa.Column("confirm_tries", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    op.execute("UPDATE notify_follow SET confirmed_at = created_at")
    op.create_index("uq_notify_follow_ref", "notify_follow", ["confirm_ref"], unique=True)
    # fixed-window counters of follow requests (per client, address, case or area), unlogged
    # like abuse's rate_counter: losing them in a crash only resets the windows
    op.create_table(
        "notify_follow_counter",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_notify_follow_counter"),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("notify_follow_counter")
    op.drop_index("uq_notify_follow_ref", table_name="notify_follow")
    op.drop_column("notify_follow", "confirm_tries")
    op.drop_column("notify_follow", "confirm_sent_at")
    op.drop_column("notify_follow", "confirm_ref")
    op.drop_column("notify_follow", "confirm_hash")
    op.drop_column("notify_follow", "confirmed_at")
    op.drop_table("notify_unit_contact")
