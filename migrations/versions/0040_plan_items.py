"""task breakdown table (issue 17 point 4): the campaign plan as items with lead and cooperating units, a named
person, due date and milestones, and the units' progress reports

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plan_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('lead_unit_id', sa.Integer(), nullable=False),
        sa.Column('cooperating', sa.JSON(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('percent', sa.Integer(), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_plan_items_campaign_id')),
        sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], name=op.f('fk_plan_items_lead_unit_id')),
        sa.ForeignKeyConstraint(['person_id'], ['staff.id'], name=op.f('fk_plan_items_person_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items')),
        sa.UniqueConstraint('campaign_id', 'code', name=op.f('uq_plan_items_campaign_id_code')),
    )
    op.create_index(op.f('ix_plan_items_lead_unit_id'), 'plan_items', ['lead_unit_id'])
    op.create_table(
        'plan_milestones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], name=op.f('fk_plan_milestones_item_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_milestones')),
    )
    op.create_index(op.f('ix_plan_milestones_item_id'), 'plan_milestones', ['item_id'])
    op.create_table(
        'plan_progress',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('percent', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('photos', sa.JSON(), nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], name=op.f('fk_plan_progress_item_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_plan_progress_unit_id')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_plan_progress_user_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_progress')),
    )
    op.create_index(op.f('ix_plan_progress_item_id'), 'plan_progress', ['item_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_progress_item_id'), table_name='plan_progress')
    op.drop_table('plan_progress')
    op.drop_index(op.f('ix_plan_milestones_item_id'), table_name='plan_milestones')
    op.drop_table('plan_milestones')
    op.drop_index(op.f('ix_plan_items_lead_unit_id'), table_name='plan_items')
    op.drop_table('plan_items')
