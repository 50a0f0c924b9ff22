"""scores a bureau can defend (issue 17 point 6): deduction caps and where units with no cases go on the
assessment configuration; the record of each sanction (约谈, 通报批评, 问责, 末位淘汰)

Revision ID: 0037
Revises: 0040
Create Date: 2026-12-06 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0037'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assessment_configs') as batch:
        batch.add_column(sa.Column('deduction_caps', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('no_case_placement', sa.String(length=16), server_default='unranked',
                                   nullable=False))
    op.create_table(
        'sanction_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('sanction', sa.String(length=32), nullable=False),
        sa.Column('due_id', sa.Integer(), nullable=True),
        sa.Column('principal_id', sa.Integer(), nullable=True),
        sa.Column('in_charge_id', sa.Integer(), nullable=True),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('attendees', sa.Text(), nullable=False),
        sa.Column('minutes', sa.Text(), nullable=False),
        sa.Column('commitments', sa.Text(), nullable=False),
        sa.Column('follow_up', sa.Text(), nullable=False),
        sa.Column('follow_up_result', sa.String(length=16), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_sanction_records_campaign_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_sanction_records_unit_id')),
        sa.ForeignKeyConstraint(['due_id'], ['sanctions_due.id'], name=op.f('fk_sanction_records_due_id')),
        sa.ForeignKeyConstraint(['principal_id'], ['staff.id'], name=op.f('fk_sanction_records_principal_id')),
        sa.ForeignKeyConstraint(['in_charge_id'], ['staff.id'], name=op.f('fk_sanction_records_in_charge_id')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_sanction_records_recorded_by_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_records')),
    )
    op.create_index('ix_sanction_records_unit_period', 'sanction_records', ['campaign_id', 'unit_id', 'period'])


def downgrade() -> None:
    op.drop_index('ix_sanction_records_unit_period', table_name='sanction_records')
    op.drop_table('sanction_records')
    with op.batch_alter_table('assessment_configs') as batch:
        batch.drop_column('no_case_placement')
        batch.drop_column('deduction_caps')
