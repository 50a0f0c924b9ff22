"""timeline steps of tasks, executed by the escalation poller

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 07:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('tier_level', sa.Integer(), nullable=True),
    sa.Column('unless_state', sa.String(length=16), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('task_status', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_steps_task_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_steps')),
    sa.UniqueConstraint('task_id', 'position', name=op.f('uq_task_steps_task_id_position'))
    )
    op.create_index('ix_task_steps_due', 'task_steps', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_steps_due', table_name='task_steps')
    op.drop_table('task_steps')
