"""check clock (核查, DESIGN 12): a campaign's minutes for checking a submitted task before its case closes, 30 as
R1 configures it; the clock itself is read from the lead task's transitions and stores nothing

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-07 13:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0053'
down_revision = '0052'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('check_minutes', sa.Integer(), server_default='30', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('check_minutes')
