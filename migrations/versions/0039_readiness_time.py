"""daily readiness (issue 17 point 2): the campaign's local time by which each inspection point's responsible
person has run its checklist (每日自查); a point not checked by then is escalated once that day

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 09:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('readiness_time', sa.String(length=5), server_default='06:40', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('readiness_time')
