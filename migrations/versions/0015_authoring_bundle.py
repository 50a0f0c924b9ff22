"""authoring bundle: ruleset versions freeze the timelines, tiers, templates and list rows they name;
supervision tier members (users and units); unit duty items (职责清单)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bundle', sa.JSON(), nullable=True))
    op.create_table(
        'tier_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tier_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['tier_id'], ['supervision_tiers.id'], name='fk_tier_members_tier_id'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_tier_members_user_id'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_tier_members_unit_id'),
        sa.PrimaryKeyConstraint('id', name='pk_tier_members'))
    op.create_index('ix_tier_members_tier_id', 'tier_members', ['tier_id'])
    op.create_table(
        'duty_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('text_zh', sa.Text(), nullable=False),
        sa.Column('text_en', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_duty_items_unit_id'),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name='fk_duty_items_category_id'),
        sa.PrimaryKeyConstraint('id', name='pk_duty_items'))
    op.create_index('ix_duty_items_unit_id', 'duty_items', ['unit_id'])


def downgrade() -> None:
    op.drop_index('ix_duty_items_unit_id', table_name='duty_items')
    op.drop_table('duty_items')
    op.drop_index('ix_tier_members_tier_id', table_name='tier_members')
    op.drop_table('tier_members')
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.drop_column('bundle')
