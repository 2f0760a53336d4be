"""Published contacts per kind of utility: the water, power, gas … company serving a place.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00

Party （十一） (专业经营单位) is several companies: ``contact.kind`` names which one a contact is
(a kind of the ``utility`` agency: water, power, gas, …; empty for every other agency), so that a
place can show its own water, power and gas company. The unique key gains the kind.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contact", sa.Column("kind", sa.String(32), nullable=False, server_default=""))
    op.drop_constraint("uq_contact_scope", "contact", type_="unique")
    op.create_unique_constraint(
        "uq_contact_scope", "contact", ["agency", "kind", "scope_layer", "scope_code"]
    )


def downgrade() -> None:
    op.execute("DELETE FROM contact WHERE kind <> ''")
    op.drop_constraint("uq_contact_scope", "contact", type_="unique")
    op.create_unique_constraint(
        "uq_contact_scope", "contact", ["agency", "scope_layer", "scope_code"]
    )
    op.drop_column("contact", "kind")
