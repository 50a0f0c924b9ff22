"""inbox (issue 15 point 5, 消息): whom each outbox row is addressed to (a unit, a tier, a person of the
task's chain, a user; one row per addressee, not per reader) and each user's read marks

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-06 05:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0029'
down_revision = '0026'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('inbox_addresses',
                    sa.Column('id', BigId, nullable=False),
                    sa.Column('outbox_id', BigId, nullable=False),
                    sa.Column('scope', sa.String(length=8), nullable=False),
                    sa.Column('ref', BigId, nullable=False),
                    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_inbox_addresses_outbox_id')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_addresses')),
                    sa.UniqueConstraint('outbox_id', 'scope', 'ref', name=op.f('uq_inbox_addresses_outbox_id_scope_ref')))
    op.create_index('ix_inbox_addresses_reader', 'inbox_addresses', ['scope', 'ref', 'outbox_id'])
    op.create_table('message_reads',
                    sa.Column('id', BigId, nullable=False),
                    sa.Column('outbox_id', BigId, nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_message_reads_outbox_id')),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_reads_user_id')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_reads')),
                    sa.UniqueConstraint('user_id', 'outbox_id', name=op.f('uq_message_reads_user_id_outbox_id')))
    op.create_index(op.f('ix_message_reads_outbox_id'), 'message_reads', ['outbox_id'])
    op.create_index('ix_outbox_created_at', 'outbox', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_created_at', table_name='outbox')
    op.drop_index(op.f('ix_message_reads_outbox_id'), table_name='message_reads')
    op.drop_table('message_reads')
    op.drop_index('ix_inbox_addresses_reader', table_name='inbox_addresses')
    op.drop_table('inbox_addresses')
