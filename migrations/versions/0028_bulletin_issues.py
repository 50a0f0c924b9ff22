"""bulletin issues (issue 15 point 4, 周通报 as a publication): each weekly bulletin is generated once on the
campaign's configured day and hour, numbered 第N期, frozen (content JSON and its sha256, the PDFs as sent)
and never regenerated; a correction is a new issue naming the one it corrects

Revision ID: 0028
Revises: 0033
Create Date: 2026-12-06 05:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0028'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('bulletin_weekday', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('bulletin_time', sa.String(length=5), nullable=False, server_default='08:00'))
        batch.add_column(sa.Column('bulletin_office_zh', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('bulletin_office_en', sa.String(length=200), nullable=True))
    op.create_table(
        'bulletin_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('scheduled_for', sa.String(length=16), nullable=True),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False),
        sa.Column('pdf_zh', sa.LargeBinary(), nullable=False),
        sa.Column('pdf_en', sa.LargeBinary(), nullable=False),
        sa.Column('corrects_id', sa.Integer(), nullable=True),
        sa.Column('correction_reason', sa.Text(), nullable=True),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_bulletin_issues_campaign_id')),
        sa.ForeignKeyConstraint(['corrects_id'], ['bulletin_issues.id'], name=op.f('fk_bulletin_issues_corrects_id')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_bulletin_issues_issued_by_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin_issues')),
        sa.UniqueConstraint('campaign_id', 'number', name=op.f('uq_bulletin_issues_campaign_id_number')),
        sa.UniqueConstraint('campaign_id', 'scheduled_for', name=op.f('uq_bulletin_issues_campaign_id_scheduled_for')),
    )


def downgrade() -> None:
    op.drop_table('bulletin_issues')
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('bulletin_office_en')
        batch.drop_column('bulletin_office_zh')
        batch.drop_column('bulletin_time')
        batch.drop_column('bulletin_weekday')
