"""security audit log (等保 2.0): sign-ins and their failures, sign-outs, account changes, exports and views
of a reporter's phone, kept at least six months

Revision ID: 0047
Revises: 0043
Create Date: 2026-12-06 13:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0047'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'security_audit_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('what', sa.Text(), nullable=False),
        sa.Column('subject', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_security_audit_log')))
    op.create_index('ix_security_audit_log_at', 'security_audit_log', ['at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_security_audit_log_at', table_name='security_audit_log')
    op.drop_table('security_audit_log')
