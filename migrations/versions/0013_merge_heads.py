"""merge the adaptive, item metadata, practical, proctoring, scheduling and archive/quality branches

Revision ID: 0013
Revises: 0007, 0008, 0009, 0010, 0011, 0012
"""
from __future__ import annotations

revision = '0013'
down_revision = ('0007', '0008', '0009', '0010', '0011', '0012')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
