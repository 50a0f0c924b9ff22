"""an index on tasks (deadline_at, id): the task list's pages of 50 by deadline walk it instead of sorting every
open task, and the overdue filter reads a range of it (bench/command_centre.py, 100,000 open tasks)

Revision ID: 0043
Revises: 0041
Create Date: 2026-12-06 12:30:00
"""
from alembic import op

revision = '0043'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tasks_deadline', 'tasks', ['deadline_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_tasks_deadline', table_name='tasks')
