"""adaptive exams: settings per exam definition, adaptive sittings and their steps

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adaptiveexamsettings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_definition_id', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('blueprint_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('type_bounds', sa.JSON(), nullable=False),
    sa.Column('enemies', sa.JSON(), nullable=False),
    sa.Column('retake_window_days', sa.Integer(), nullable=False),
    sa.Column('sympson_hetter', sa.JSON(), nullable=True),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['exam_definition_id'], ['examdefinition.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('exam_definition_id')
    )
    op.create_table('adaptivesitting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('design', sa.JSON(), nullable=False),
    sa.Column('exposure', sa.JSON(), nullable=False),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.Column('theta', sa.Float(), nullable=True),
    sa.Column('se', sa.Float(), nullable=True),
    sa.Column('n_scored', sa.Integer(), nullable=False),
    sa.Column('n_pretest', sa.Integer(), nullable=False),
    sa.Column('cut_theta', sa.Float(), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_session_id')
    )
    op.create_table('adaptivestep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('adaptive_sitting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('pretest', sa.Boolean(), nullable=False),
    sa.Column('theta_before', sa.Float(), nullable=False),
    sa.Column('se_before', sa.Float(), nullable=False),
    sa.Column('served_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('theta', sa.Float(), nullable=True),
    sa.Column('se', sa.Float(), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['adaptive_sitting_id'], ['adaptivesitting.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.ForeignKeyConstraint(['item_version_id'], ['itemversion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('adaptive_sitting_id', 'position')
    )
    op.create_index(op.f('ix_adaptivestep_adaptive_sitting_id'), 'adaptivestep', ['adaptive_sitting_id'], unique=False)
    op.create_index(op.f('ix_adaptivestep_item_id'), 'adaptivestep', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_adaptivestep_item_id'), table_name='adaptivestep')
    op.drop_index(op.f('ix_adaptivestep_adaptive_sitting_id'), table_name='adaptivestep')
    op.drop_table('adaptivestep')
    op.drop_table('adaptivesitting')
    op.drop_table('adaptiveexamsettings')
