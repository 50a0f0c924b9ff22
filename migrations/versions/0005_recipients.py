"""recipients of notifications outside the app and one delivery row per message and recipient

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('tier_level', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_recipients_campaign_id')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_recipients_unit_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipients'))
    )
    op.create_index('ix_recipients_scope', 'recipients', ['scope', 'enabled'], unique=False)
    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_deliveries_outbox_id')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_deliveries_recipient_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('outbox_id', 'recipient_id', name=op.f('uq_deliveries_outbox_id_recipient_id'))
    )
    op.create_index('ix_deliveries_due', 'deliveries', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_due', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index('ix_recipients_scope', table_name='recipients')
    op.drop_table('recipients')
