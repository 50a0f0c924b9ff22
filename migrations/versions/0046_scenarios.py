"""rule scenarios (issue 20): a campaign's events with their expected outcomes, checked on every publish, and
the overrides that published despite a failing scenario (reason, requester, second administrator)

Revision ID: 0046
Revises: 0043
Create Date: 2026-12-06 13:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0046'
down_revision = '0047'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scenarios',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('event', sa.JSON(), nullable=False),
        sa.Column('expected', sa.JSON(), nullable=False),
        sa.Column('history', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_scenarios_campaign_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
        sa.UniqueConstraint('campaign_id', 'title', name=op.f('uq_scenarios_campaign_id_title')),
    )
    op.create_table(
        'scenario_overrides',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.Column('failures', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_scenario_overrides_campaign_id')),
        sa.ForeignKeyConstraint(['version_id'], ['ruleset_versions.id'],
                                name=op.f('fk_scenario_overrides_version_id')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_scenario_overrides_requested_by_id')),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_scenario_overrides_confirmed_by_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario_overrides')),
    )


def downgrade() -> None:
    op.drop_table('scenario_overrides')
    op.drop_table('scenarios')
