"""practical part: scenarios and versions, practical tasks, attempts with action logs, raters

Revision ID: 0009
Revises: 0006
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scenario',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('title_zh', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('scenarioversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('declared_version', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scenario_id', 'version_no')
    )
    op.create_index(op.f('ix_scenarioversion_scenario_id'), 'scenarioversion', ['scenario_id'], unique=False)
    op.create_index(op.f('ix_scenarioversion_sha256'), 'scenarioversion', ['sha256'], unique=False)
    op.create_table('practicaltask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_definition_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('scenario', 'rated', name='taskkind', native_enum=False, length=24), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=True),
    sa.Column('rubric', sa.JSON(), nullable=True),
    sa.Column('raters_required', sa.Integer(), nullable=False),
    sa.Column('spread_threshold', sa.Float(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['exam_definition_id'], ['examdefinition.id'], ),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('exam_definition_id', 'position')
    )
    op.create_index(op.f('ix_practicaltask_exam_definition_id'), 'practicaltask', ['exam_definition_id'], unique=False)
    op.create_table('practicalattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('running', 'rating', 'adjudication', 'scored', name='attemptstatus', native_enum=False, length=24), nullable=False),
    sa.Column('scenario_version_id', sa.Integer(), nullable=True),
    sa.Column('seed', sa.BigInteger(), nullable=True),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deadline', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('action_count', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('veto', sa.Boolean(), nullable=False),
    sa.Column('score_sheet', sa.JSON(), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.ForeignKeyConstraint(['scenario_version_id'], ['scenarioversion.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['practicaltask.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_session_id', 'task_id')
    )
    op.create_index(op.f('ix_practicalattempt_candidate_session_id'), 'practicalattempt', ['candidate_session_id'], unique=False)
    op.create_index(op.f('ix_practicalattempt_deadline'), 'practicalattempt', ['deadline'], unique=False)
    op.create_index(op.f('ix_practicalattempt_status'), 'practicalattempt', ['status'], unique=False)
    op.create_index(op.f('ix_practicalattempt_task_id'), 'practicalattempt', ['task_id'], unique=False)
    op.create_table('adjudication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('chief_user_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('veto', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['practicalattempt.id'], ),
    sa.ForeignKeyConstraint(['chief_user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attempt_id')
    )
    op.create_table('practicalaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('t', sa.Float(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['practicalattempt.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attempt_id', 'seq')
    )
    op.create_index(op.f('ix_practicalaction_attempt_id'), 'practicalaction', ['attempt_id'], unique=False)
    op.create_table('raterassignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('rater_user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('rater', 'chief', name='raterrole', native_enum=False, length=24), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['practicalattempt.id'], ),
    sa.ForeignKeyConstraint(['rater_user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attempt_id', 'rater_user_id', 'role')
    )
    op.create_index(op.f('ix_raterassignment_attempt_id'), 'raterassignment', ['attempt_id'], unique=False)
    op.create_index(op.f('ix_raterassignment_rater_user_id'), 'raterassignment', ['rater_user_id'], unique=False)
    op.create_table('raterscore',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('vetoes', sa.JSON(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['raterassignment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id')
    )


def downgrade() -> None:
    op.drop_table('raterscore')
    op.drop_index(op.f('ix_raterassignment_rater_user_id'), table_name='raterassignment')
    op.drop_index(op.f('ix_raterassignment_attempt_id'), table_name='raterassignment')
    op.drop_table('raterassignment')
    op.drop_index(op.f('ix_practicalaction_attempt_id'), table_name='practicalaction')
    op.drop_table('practicalaction')
    op.drop_table('adjudication')
    op.drop_index(op.f('ix_practicalattempt_task_id'), table_name='practicalattempt')
    op.drop_index(op.f('ix_practicalattempt_status'), table_name='practicalattempt')
    op.drop_index(op.f('ix_practicalattempt_deadline'), table_name='practicalattempt')
    op.drop_index(op.f('ix_practicalattempt_candidate_session_id'), table_name='practicalattempt')
    op.drop_table('practicalattempt')
    op.drop_index(op.f('ix_practicaltask_exam_definition_id'), table_name='practicaltask')
    op.drop_table('practicaltask')
    op.drop_index(op.f('ix_scenarioversion_sha256'), table_name='scenarioversion')
    op.drop_index(op.f('ix_scenarioversion_scenario_id'), table_name='scenarioversion')
    op.drop_table('scenarioversion')
    op.drop_table('scenario')
