"""recording's indexes (issue 18 point 4): firings lose ix_firings_event_id, which their unique key
(event_id, ruleset_version_id, rule_key, phase) already serves by its first column (3-4 µs per firing written);
task_transitions gain a partial index of the closures by time, so each batch's rebound check reads the recent
closures instead of every transition (a sequential scan of 40,000 transitions after 20,000 events, 6 ms a batch)

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-06 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0051'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_firings_event_id', table_name='firings')
    op.create_index('ix_task_transitions_closed', 'task_transitions', ['at'],
                    postgresql_where=sa.text("to_status = 'closed'"), sqlite_where=sa.text("to_status = 'closed'"))


def downgrade() -> None:
    op.drop_index('ix_task_transitions_closed', table_name='task_transitions')
    op.create_index('ix_firings_event_id', 'firings', ['event_id'])
