"""assessment: points per happening on list rows, composite-score weights and peer groups per campaign,
sanction rules, and the sanctions produced each period with the ranks that caused them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 09:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('list_items') as batch:
        batch.add_column(sa.Column('point_rules', sa.JSON(), nullable=True))
    op.create_table('assessment_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('peer_groups', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_assessment_configs_campaign_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_configs')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_assessment_configs_campaign_id'))
    )
    op.create_table('sanction_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('bottom_n', sa.Integer(), nullable=False),
    sa.Column('periods', sa.Integer(), nullable=False),
    sa.Column('peer_group', sa.String(length=32), nullable=True),
    sa.Column('sanction', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_sanction_rules_campaign_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_rules')),
    sa.UniqueConstraint('campaign_id', 'code', name=op.f('uq_sanction_rules_campaign_id_code'))
    )
    op.create_table('sanction_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('produced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_sanction_runs_campaign_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_runs')),
    sa.UniqueConstraint('campaign_id', 'period', name=op.f('uq_sanction_runs_campaign_id_period'))
    )
    op.create_table('sanctions_due',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('sanction', sa.String(length=32), nullable=False),
    sa.Column('ranks', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sanction_runs.id'], name=op.f('fk_sanctions_due_run_id')),
    sa.ForeignKeyConstraint(['rule_id'], ['sanction_rules.id'], name=op.f('fk_sanctions_due_rule_id')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_sanctions_due_unit_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanctions_due')),
    sa.UniqueConstraint('run_id', 'rule_id', 'unit_id', name=op.f('uq_sanctions_due_run_id_rule_id_unit_id'))
    )


def downgrade() -> None:
    op.drop_table('sanctions_due')
    op.drop_table('sanction_runs')
    op.drop_table('sanction_rules')
    op.drop_table('assessment_configs')
    with op.batch_alter_table('list_items') as batch:
        batch.drop_column('point_rules')
