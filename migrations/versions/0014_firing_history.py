"""firings carry their task's unit, their event's category and grid, indexed for the history browser

The auditors' three common questions (a unit over a month, one rule version, a category in a grid
over a quarter) each get a composite index ending in (fired_at, id), so the newest 50 are read
straight off the index with keyset pagination and no count. Existing rows are filled from their
event and task.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 10:55:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('firings') as batch:
        batch.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
    op.execute("UPDATE firings SET category_id = (SELECT category_id FROM events WHERE events.id = firings.event_id), "
               "grid_id = (SELECT grid_id FROM events WHERE events.id = firings.event_id), "
               "unit_id = (SELECT unit_id FROM tasks WHERE tasks.id = firings.task_id)")
    op.create_index('ix_firings_unit_time', 'firings', ['unit_id', 'fired_at', 'id'])
    op.create_index('ix_firings_rule_time', 'firings', ['rule_key', 'rule_version', 'fired_at', 'id'])
    op.create_index('ix_firings_place_time', 'firings', ['category_id', 'grid_id', 'fired_at', 'id'])
    op.create_index('ix_firings_time', 'firings', ['fired_at', 'id'])


def downgrade() -> None:
    for name in ('ix_firings_time', 'ix_firings_place_time', 'ix_firings_rule_time', 'ix_firings_unit_time'):
        op.drop_index(name, table_name='firings')
    with op.batch_alter_table('firings') as batch:
        batch.drop_column('grid_id')
        batch.drop_column('category_id')
        batch.drop_column('unit_id')
