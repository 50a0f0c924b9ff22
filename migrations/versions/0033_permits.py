"""permits: the register of approvals and filings (审批/备案) with place, period and status

A permit makes a report at its place during its period "approved" for the rules (fact permits_valid);
a construction-waste permit names its designated site (fact at_designated_site).

Revision ID: 0033
Revises: 0025
Create Date: 2026-12-06 05:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0033'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'permits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('holder_name', sa.String(length=200), nullable=False),
        sa.Column('holder_contact', sa.String(length=200), nullable=True),
        sa.Column('holder_id', sa.Integer(), nullable=True),
        sa.Column('place', sa.JSON(), nullable=False),
        sa.Column('radius_m', sa.Float(), nullable=False),
        sa.Column('site', sa.JSON(), nullable=True),
        sa.Column('site_radius_m', sa.Float(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=False),
        sa.Column('filed_on', sa.Date(), nullable=True),
        sa.Column('filing_reference', sa.String(length=100), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['holder_id'], ['frontage_holders.id'], name=op.f('fk_permits_holder_id')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['units.id'], name=op.f('fk_permits_approved_by_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_permits')),
        sa.UniqueConstraint('number', name=op.f('uq_permits_number')),
    )
    op.create_index(op.f('ix_permits_kind'), 'permits', ['kind'])


def downgrade() -> None:
    op.drop_index(op.f('ix_permits_kind'), table_name='permits')
    op.drop_table('permits')
