"""inspection plans, rounds and findings (issue 15 point 3, 三级督查): each tier's plan with its scope and
frequency, the rounds an inspector walks with their track, and the findings with where their position came
from; a finding's photos are evidence rows that name it

Revision ID: 0027
Revises: 0032
Create Date: 2026-12-06 05:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0032'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'inspection_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('tier_level', sa.Integer(), nullable=False),
        sa.Column('name_zh', sa.String(length=200), nullable=False),
        sa.Column('name_en', sa.String(length=200), nullable=False),
        sa.Column('frequency', sa.String(length=16), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('requires_location', sa.Boolean(), server_default='1', nullable=False),
        sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_inspection_plans_campaign_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_plans')),
        sa.UniqueConstraint('campaign_id', 'code', name=op.f('uq_inspection_plans_campaign_id')),
    )
    op.create_table(
        'inspection_rounds',
        sa.Column('id', BigId, nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('inspector_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('tier_level', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('track', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['inspection_plans.id'], name=op.f('fk_inspection_rounds_plan_id')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_inspection_rounds_campaign_id')),
        sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspection_rounds_inspector_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_inspection_rounds_unit_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_rounds')),
    )
    op.create_index('ix_inspection_rounds_started', 'inspection_rounds', ['started_at'])
    op.create_index(op.f('ix_inspection_rounds_inspector_id'), 'inspection_rounds', ['inspector_id'])
    op.create_table(
        'inspection_findings',
        sa.Column('id', BigId, nullable=False),
        sa.Column('round_id', BigId, nullable=False),
        sa.Column('event_id', BigId, nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=True),
        sa.Column('location_source', sa.String(length=8), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['inspection_rounds.id'], name=op.f('fk_inspection_findings_round_id')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_inspection_findings_event_id')),
        sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_inspection_findings_street_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_findings')),
        sa.UniqueConstraint('event_id', name=op.f('uq_inspection_findings_event_id')),
    )
    op.create_index(op.f('ix_inspection_findings_round_id'), 'inspection_findings', ['round_id'])
    with op.batch_alter_table('evidence') as batch:
        batch.add_column(sa.Column('finding_id', BigId, nullable=True))
        batch.create_foreign_key(op.f('fk_evidence_finding_id'), 'inspection_findings', ['finding_id'], ['id'])
        batch.create_index(op.f('ix_evidence_finding_id'), ['finding_id'])


def downgrade() -> None:
    """Drops the plans, the rounds and the findings, and the finding photos' link (the photos' rows and files
    stay, as evidence of nothing)."""
    with op.batch_alter_table('evidence') as batch:
        batch.drop_index(op.f('ix_evidence_finding_id'))
        batch.drop_constraint(op.f('fk_evidence_finding_id'), type_='foreignkey')
        batch.drop_column('finding_id')
    op.drop_index(op.f('ix_inspection_findings_round_id'), table_name='inspection_findings')
    op.drop_table('inspection_findings')
    op.drop_index(op.f('ix_inspection_rounds_inspector_id'), table_name='inspection_rounds')
    op.drop_index('ix_inspection_rounds_started', table_name='inspection_rounds')
    op.drop_table('inspection_rounds')
    op.drop_table('inspection_plans')
