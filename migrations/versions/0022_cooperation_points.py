"""主办/协办 points (issue 14, point 6): a campaign's assessment configuration says whether a case's points are
charged to the lead unit's task only or shared equally with the cooperating units' tasks

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 02:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessment_configs') as batch:
        batch.add_column(sa.Column('cooperation_points', sa.String(length=16), server_default='lead',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('assessment_configs') as batch:
        batch.drop_column('cooperation_points')
