"""a partial index on the parked tasks' park_until: the escalation poller's resume round (every 10 s) read every task
to find the few parked ones (a sequential scan of 1,000,000 open tasks, bench/escalation.py --open-tasks 1000000)

Revision ID: 0050
Revises: 0048
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0050'
down_revision = '0048'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tasks_parked', 'tasks', ['park_until'], postgresql_where=sa.text("status = 'parked'"),
                    sqlite_where=sa.text("status = 'parked'"))


def downgrade() -> None:
    op.drop_index('ix_tasks_parked', table_name='tasks')
