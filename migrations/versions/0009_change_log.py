"""change log of configuration and master data (append-only on PostgreSQL)

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22 11:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('interface', sa.String(length=16), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    op.create_index('ix_change_log_at', 'change_log', ['at', 'id'])
    op.create_index('ix_change_log_object', 'change_log', ['object_type', 'object_id'])
    with op.batch_alter_table('audit_seals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_digests', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log "
                   "FOR EACH ROW EXECUTE FUNCTION civicrules_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS change_log_append_only ON change_log")
    with op.batch_alter_table('audit_seals', schema=None) as batch_op:
        batch_op.drop_column('row_digests')
    op.drop_index('ix_change_log_object', table_name='change_log')
    op.drop_index('ix_change_log_at', table_name='change_log')
    op.drop_table('change_log')
