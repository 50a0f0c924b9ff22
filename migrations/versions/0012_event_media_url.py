"""events keep the media link an Open311 client or an import hands over

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 10:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('media_url', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events') as batch:
        batch.drop_column('media_url')
