"""inspection findings (issue 15 point 3, 三级督查): a report found on an inspection round carries the
tier that found it and the inspector's account, both taken from the account, never from the payload

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 05:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('inspection_tier', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('inspector_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_events_inspector_id'), 'users', ['inspector_id'], ['id'])
        batch.create_index('ix_events_inspection', ['inspection_tier', 'occurred_at'])


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.drop_index('ix_events_inspection')
        batch.drop_constraint(op.f('fk_events_inspector_id'), type_='foreignkey')
        batch.drop_column('inspector_id')
        batch.drop_column('inspection_tier')
