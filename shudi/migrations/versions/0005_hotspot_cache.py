"""Hotspot analysis results cached per parameter set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:58:00
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
