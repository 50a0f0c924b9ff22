"""an index on permits.updated_at: the permit index's change check (count, newest id, newest change) reads it
instead of scanning 50,000 permits every few seconds in every worker (bench/places.py)

Revision ID: 0041
Revises: 0037
Create Date: 2026-12-06 09:30:00
"""
from alembic import op

revision = '0041'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_permits_stamp', 'permits', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_permits_stamp', table_name='permits')
