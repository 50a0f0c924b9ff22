"""catalogue entries carry their kind, source and older code; filing conditions their closing condition
(结案条件) and handler; duty items route (lead or cooperate, over an area); events carry their reporter

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('categories') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), server_default='matter', nullable=False))
        batch.add_column(sa.Column('source', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('standard_ref', sa.String(length=32), nullable=True))
    with op.batch_alter_table('filing_conditions') as batch:
        batch.add_column(sa.Column('closing_zh', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('closing_en', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('handler', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('source', sa.String(length=120), nullable=True))
    with op.batch_alter_table('duty_items') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('area', sa.JSON(), nullable=True))
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('reporter_name', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('reporter_phone', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('anonymous', sa.Boolean(), server_default='0', nullable=False))
        batch.add_column(sa.Column('confidence', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        for name in ('confidence', 'anonymous', 'reporter_phone', 'reporter_name'):
            batch.drop_column(name)
    with op.batch_alter_table('duty_items') as batch:
        batch.drop_column('area')
        batch.drop_column('role')
    with op.batch_alter_table('filing_conditions') as batch:
        for name in ('source', 'handler', 'closing_en', 'closing_zh'):
            batch.drop_column(name)
    with op.batch_alter_table('categories') as batch:
        for name in ('standard_ref', 'source', 'kind'):
            batch.drop_column(name)
