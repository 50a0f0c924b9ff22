"""account lifecycle: a session generation that logout, deactivation, a reset or a role change bumps (old
session cookies stop working at once), a flag that forces a password change at the next sign-in, and the
failed sign-ins under unknown usernames (so that the sign-in wait does not tell whether a username exists),
and each account's latest failure per client address (only the addresses that failed wait)

Revision ID: 0044
Revises: 0041
Create Date: 2026-12-06 12:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0044'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        'unknown_sign_ins',
        sa.Column('name_digest', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('waits_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name_digest', name=op.f('pk_unknown_sign_ins')))
    op.create_index(op.f('ix_unknown_sign_ins_last_failure_at'), 'unknown_sign_ins', ['last_failure_at'])
    op.create_table(
        'sign_in_failures',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_failures_user_id')),
        sa.PrimaryKeyConstraint('user_id', 'address', name=op.f('pk_sign_in_failures')))
    op.create_index(op.f('ix_sign_in_failures_last_failure_at'), 'sign_in_failures', ['last_failure_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_failures_last_failure_at'), table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    op.drop_index(op.f('ix_unknown_sign_ins_last_failure_at'), table_name='unknown_sign_ins')
    op.drop_table('unknown_sign_ins')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
        batch.drop_column('session_epoch')
