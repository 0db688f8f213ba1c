"""proctoring: event stream, pauses, extensions, accommodations, presence

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-24 06:35:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proctoringevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_proctoringevent_candidate_session_id'), 'proctoringevent', ['candidate_session_id'], unique=False)
    op.create_index(op.f('ix_proctoringevent_kind'), 'proctoringevent', ['kind'], unique=False)
    op.create_index(op.f('ix_proctoringevent_ref_id'), 'proctoringevent', ['ref_id'], unique=False)
    # Existing rows get 0 minutes: the server default fills them, the models set it for new rows.
    op.add_column('candidate', sa.Column('extra_time_minutes', sa.Integer(), nullable=False, server_default=sa.text('0')))
    op.add_column('candidatesession', sa.Column('paused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('candidatesession', sa.Column('extension_minutes', sa.Integer(), nullable=False, server_default=sa.text('0')))
    op.add_column('candidatesession', sa.Column('accommodation_minutes', sa.Integer(), nullable=False, server_default=sa.text('0')))
    op.add_column('candidatesession', sa.Column('connection_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    op.add_column('candidatesession', sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('candidatesession') as batch:
        batch.drop_column('last_seen_at')
        batch.drop_column('connection_id')
        batch.drop_column('accommodation_minutes')
        batch.drop_column('extension_minutes')
        batch.drop_column('paused_at')
    with op.batch_alter_table('candidate') as batch:
        batch.drop_column('extra_time_minutes')
    op.drop_index(op.f('ix_proctoringevent_ref_id'), table_name='proctoringevent')
    op.drop_index(op.f('ix_proctoringevent_kind'), table_name='proctoringevent')
    op.drop_index(op.f('ix_proctoringevent_candidate_session_id'), table_name='proctoringevent')
    op.drop_table('proctoringevent')
