"""frontage holders under 门前三包: shops and sites with an address, a grid and a responsible unit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('frontage_holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_frontage_holders_grid_id')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_frontage_holders_unit_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frontage_holders'))
    )
    op.create_index('ix_frontage_holders_address', 'frontage_holders', ['address'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_frontage_holders_address', table_name='frontage_holders')
    op.drop_table('frontage_holders')
