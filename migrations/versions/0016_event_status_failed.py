"""events given up after repeated errors are 'failed', not 'parked': 'parked' (挂账) is a task's paused clock

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

events = sa.table('events', sa.column('status', sa.String(16)))


def upgrade() -> None:
    op.execute(events.update().where(events.c.status == 'parked').values(status='failed'))


def downgrade() -> None:
    op.execute(events.update().where(events.c.status == 'failed').values(status='parked'))
