"""quality supervision: complaints and institution suspensions

Revision ID: 0012
Revises: 0006
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('received', 'triaged', 'assigned', 'resolved', 'dismissed', name='complaintstatus', native_enum=False, length=24), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', name='complaintseverity', native_enum=False, length=24), nullable=True),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('triaged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_index(op.f('ix_complaint_institution_id'), 'complaint', ['institution_id'], unique=False)
    op.create_index(op.f('ix_complaint_received_at'), 'complaint', ['received_at'], unique=False)
    op.create_index(op.f('ix_complaint_status'), 'complaint', ['status'], unique=False)
    op.create_table('institutionsuspension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('suspended_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('suspended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lifted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('lifted_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('lift_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_institutionsuspension_institution_id'), 'institutionsuspension', ['institution_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_institutionsuspension_institution_id'), table_name='institutionsuspension')
    op.drop_table('institutionsuspension')
    op.drop_index(op.f('ix_complaint_status'), table_name='complaint')
    op.drop_index(op.f('ix_complaint_received_at'), table_name='complaint')
    op.drop_index(op.f('ix_complaint_institution_id'), table_name='complaint')
    op.drop_table('complaint')
