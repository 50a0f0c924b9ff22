"""case attachments (issue 14 point 7, 交办): documents and pictures that come with a case, stored by hash

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 02:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'case_attachments',
        sa.Column('id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('stored_name', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploader_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_attachments_case_id')),
        sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_case_attachments_uploader_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_attachments')),
    )
    op.create_index('ix_case_attachments_case', 'case_attachments', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_attachments_case', table_name='case_attachments')
    op.drop_table('case_attachments')
