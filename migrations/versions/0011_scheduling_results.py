"""scheduling and results: institution scope, seat maps, batches and room bookings, seats,
staff on duty and relations, result publication, appeals, anonymous surveys

Revision ID: 0011
Revises: 0006
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resultspolicy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_window_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('schedulingpolicy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forbid_related_staff', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('institutionscope',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('occupation_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('apprentice', 'level5', 'level4', 'level3', 'level2', 'level1', 'principal', 'chief', 'special', name='level', native_enum=False, length=24), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['occupation_id'], ['occupation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'occupation_id', 'level')
    )
    op.create_index(op.f('ix_institutionscope_institution_id'), 'institutionscope', ['institution_id'], unique=False)
    op.create_table('staffrelation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'institution_id')
    )
    op.create_index(op.f('ix_staffrelation_user_id'), 'staffrelation', ['user_id'], unique=False)
    op.create_table('exambatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('exam_definition_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['exam_definition_id'], ['examdefinition.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_exambatch_institution_id'), 'exambatch', ['institution_id'], unique=False)
    op.create_table('roomlayout',
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('columns', sa.Integer(), nullable=False),
    sa.Column('missing_seats', sa.JSON(), nullable=False),
    sa.Column('equipment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('standardized', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], ),
    sa.PrimaryKeyConstraint('room_id')
    )
    op.create_table('dutyassignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('supervisor', 'rater', name='dutyrole', native_enum=False, length=24), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['exam_session_id'], ['examsession.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('exam_session_id', 'user_id', 'role')
    )
    op.create_index(op.f('ix_dutyassignment_exam_session_id'), 'dutyassignment', ['exam_session_id'], unique=False)
    op.create_index(op.f('ix_dutyassignment_user_id'), 'dutyassignment', ['user_id'], unique=False)
    op.create_table('resultpublication',
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['exam_session_id'], ['examsession.id'], ),
    sa.PrimaryKeyConstraint('exam_session_id')
    )
    op.create_table('roombooking',
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['exambatch.id'], ),
    sa.ForeignKeyConstraint(['exam_session_id'], ['examsession.id'], ),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], ),
    sa.PrimaryKeyConstraint('exam_session_id')
    )
    op.create_index(op.f('ix_roombooking_batch_id'), 'roombooking', ['batch_id'], unique=False)
    op.create_index(op.f('ix_roombooking_room_id'), 'roombooking', ['room_id'], unique=False)
    op.create_table('surveyanswer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.JSON(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['exam_session_id'], ['examsession.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_surveyanswer_exam_session_id'), 'surveyanswer', ['exam_session_id'], unique=False)
    op.create_index(op.f('ix_surveyanswer_institution_id'), 'surveyanswer', ['institution_id'], unique=False)
    op.create_table('appeal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Enum('theory', 'practical', 'review', name='part', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sa.Enum('open', 'upheld', 'corrected', name='appealstatus', native_enum=False, length=24), nullable=False),
    sa.Column('original_score', sa.Float(), nullable=False),
    sa.Column('new_score', sa.Float(), nullable=True),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finding', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_appeal_candidate_session_id'), 'appeal', ['candidate_session_id'], unique=False)
    op.create_index(op.f('ix_appeal_status'), 'appeal', ['status'], unique=False)
    op.create_table('seatassignment',
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('exam_session_id', sa.Integer(), nullable=False),
    sa.Column('seat', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('ticket_number', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.ForeignKeyConstraint(['exam_session_id'], ['examsession.id'], ),
    sa.PrimaryKeyConstraint('candidate_session_id'),
    sa.UniqueConstraint('exam_session_id', 'seat'),
    sa.UniqueConstraint('ticket_number')
    )
    op.create_index(op.f('ix_seatassignment_exam_session_id'), 'seatassignment', ['exam_session_id'], unique=False)
    op.create_table('surveyreceipt',
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.PrimaryKeyConstraint('candidate_session_id')
    )


def downgrade() -> None:
    op.drop_table('surveyreceipt')
    op.drop_index(op.f('ix_seatassignment_exam_session_id'), table_name='seatassignment')
    op.drop_table('seatassignment')
    op.drop_index(op.f('ix_appeal_status'), table_name='appeal')
    op.drop_index(op.f('ix_appeal_candidate_session_id'), table_name='appeal')
    op.drop_table('appeal')
    op.drop_index(op.f('ix_surveyanswer_institution_id'), table_name='surveyanswer')
    op.drop_index(op.f('ix_surveyanswer_exam_session_id'), table_name='surveyanswer')
    op.drop_table('surveyanswer')
    op.drop_index(op.f('ix_roombooking_room_id'), table_name='roombooking')
    op.drop_index(op.f('ix_roombooking_batch_id'), table_name='roombooking')
    op.drop_table('roombooking')
    op.drop_table('resultpublication')
    op.drop_index(op.f('ix_dutyassignment_user_id'), table_name='dutyassignment')
    op.drop_index(op.f('ix_dutyassignment_exam_session_id'), table_name='dutyassignment')
    op.drop_table('dutyassignment')
    op.drop_table('roomlayout')
    op.drop_index(op.f('ix_exambatch_institution_id'), table_name='exambatch')
    op.drop_table('exambatch')
    op.drop_index(op.f('ix_staffrelation_user_id'), table_name='staffrelation')
    op.drop_table('staffrelation')
    op.drop_index(op.f('ix_institutionscope_institution_id'), table_name='institutionscope')
    op.drop_table('institutionscope')
    op.drop_table('schedulingpolicy')
    op.drop_table('resultspolicy')

