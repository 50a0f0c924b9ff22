"""cases (issue 14, DESIGN 12 and 13): one problem, one case; its stage history; events and tasks name
their case; categories may set their linking window; firings say in which phase they fired

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'cases',
        sa.Column('id', BigId, nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lon', sa.Float(), nullable=True),
        sa.Column('stage', sa.String(length=24), nullable=False),
        sa.Column('report_count', sa.Integer(), nullable=False),
        sa.Column('lead_unit_id', sa.Integer(), nullable=True),
        sa.Column('filing_condition', sa.String(length=32), nullable=True),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_cases_campaign_id')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_cases_category_id')),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_cases_grid_id')),
        sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], name=op.f('fk_cases_lead_unit_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    )
    op.create_index('ix_cases_open', 'cases', ['category_id', 'stage', 'reported_at'])
    op.create_table(
        'case_stages',
        sa.Column('id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('from_stage', sa.String(length=24), nullable=True),
        sa.Column('to_stage', sa.String(length=24), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_stages_case_id')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_stages_actor_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_stages')),
    )
    op.create_index(op.f('ix_case_stages_case_id'), 'case_stages', ['case_id'])
    with op.batch_alter_table('categories') as batch:
        batch.add_column(sa.Column('link_metres', sa.Float(), nullable=True))
        batch.add_column(sa.Column('link_days', sa.Float(), nullable=True))
    with op.batch_alter_table('events') as batch:
        batch.add_column(sa.Column('case_id', BigId, nullable=True))
        batch.create_foreign_key('fk_events_case_id', 'cases', ['case_id'], ['id'])
        batch.create_index(op.f('ix_events_case_id'), ['case_id'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('case_id', BigId, nullable=True))
        batch.create_foreign_key(op.f('fk_tasks_case_id'), 'cases', ['case_id'], ['id'])
        batch.create_index(op.f('ix_tasks_case_id'), ['case_id'])
    with op.batch_alter_table('firings') as batch:
        batch.add_column(sa.Column('phase', sa.String(length=16), server_default='intake', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('firings') as batch:
        batch.drop_column('phase')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_index(op.f('ix_tasks_case_id'))
        batch.drop_constraint(op.f('fk_tasks_case_id'), type_='foreignkey')
        batch.drop_column('case_id')
    with op.batch_alter_table('events') as batch:
        batch.drop_index(op.f('ix_events_case_id'))
        batch.drop_constraint('fk_events_case_id', type_='foreignkey')
        batch.drop_column('case_id')
    with op.batch_alter_table('categories') as batch:
        batch.drop_column('link_days')
        batch.drop_column('link_metres')
    op.drop_index(op.f('ix_case_stages_case_id'), table_name='case_stages')
    op.drop_table('case_stages')
    op.drop_index('ix_cases_open', table_name='cases')
    op.drop_table('cases')
