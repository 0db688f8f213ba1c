"""audit entries by entity and action (the live roster reads each sitting's answer times)

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without it SQLite answered "answer times of these sittings" through the index on
    # action alone, reading every answer ever recorded on each roster refresh.
    op.create_index('ix_auditentry_entity_action', 'auditentry', ['entity_type', 'entity_id', 'action'])


def downgrade() -> None:
    op.drop_index('ix_auditentry_entity_action', table_name='auditentry')
