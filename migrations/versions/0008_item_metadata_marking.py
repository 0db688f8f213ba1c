"""item metadata (source on versions, tags, enemy sets) and rubric marking

Existing versions get an empty source; existing results are final (provisional false).

Revision ID: 0008
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('itemversion', sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=300),
                                           nullable=False, server_default=''))
    op.add_column('result', sa.Column('provisional', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('itemtag',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'tag')
    )
    with op.batch_alter_table('itemtag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_itemtag_tag'), ['tag'], unique=False)
    op.create_table('itemenemy',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('enemy_set', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ),
    sa.PrimaryKeyConstraint('item_id', 'enemy_set')
    )
    with op.batch_alter_table('itemenemy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_itemenemy_enemy_set'), ['enemy_set'], unique=False)
    op.create_table('rubricmark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_session_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('marked_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('marked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('queued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_session_id'], ['candidatesession.id'], ),
    sa.ForeignKeyConstraint(['item_version_id'], ['itemversion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_session_id', 'position')
    )
    with op.batch_alter_table('rubricmark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rubricmark_candidate_session_id'), ['candidate_session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_rubricmark_points'), ['points'], unique=False)


def downgrade() -> None:
    op.drop_table('rubricmark')
    op.drop_table('itemenemy')
    op.drop_table('itemtag')
    with op.batch_alter_table('result', schema=None) as batch_op:
        batch_op.drop_column('provisional')
    with op.batch_alter_table('itemversion', schema=None) as batch_op:
        batch_op.drop_column('source')
