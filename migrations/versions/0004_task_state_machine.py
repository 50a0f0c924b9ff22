"""task state machine: optimistic version, rework and extension counts, parking clock

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:20:00

Chained after 0004 (which was committed first, also revising 0002) so the history keeps one head.
Only columns are added, so SQLite's batch mode alters the table in place without copying it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('rework_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('extension_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('previous_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('park_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_seconds', sa.Float(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('paused_seconds')
        batch_op.drop_column('paused_since')
        batch_op.drop_column('park_until')
        batch_op.drop_column('previous_status')
        batch_op.drop_column('extension_count')
        batch_op.drop_column('rework_count')
        batch_op.drop_column('version')
