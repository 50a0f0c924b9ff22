"""the citizen's and the hotline's side (issue 14 point 8): revisits (回访) of closed cases, a case's tasks per
reopening, replies to a source's own address (recipients of scope `source`), and the response limit and the
basically-satisfied weight of a campaign's assessment

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 02:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'case_revisits',
        sa.Column('id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('reached', sa.Boolean(), nullable=False),
        sa.Column('rating', sa.String(length=24), nullable=True),
        sa.Column('resolved', sa.Boolean(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=64), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_revisits_case_id')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_revisits_actor_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_revisits')),
    )
    op.create_index(op.f('ix_case_revisits_case_id'), 'case_revisits', ['case_id'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('reopening', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint('uq_tasks_event_id_unit_id', type_='unique')
        batch.create_unique_constraint('uq_tasks_event_id_unit_id_reopening', ['event_id', 'unit_id', 'reopening'])
    with op.batch_alter_table('recipients') as batch:
        batch.add_column(sa.Column('source', sa.String(length=64), nullable=True))
    with op.batch_alter_table('assessment_configs') as batch:
        batch.add_column(sa.Column('response_hours', sa.Float(), server_default='2', nullable=False))
        batch.add_column(sa.Column('basic_satisfaction_weight', sa.Float(), server_default='1', nullable=False))


def downgrade() -> None:
    """Refused by the database while a reopened case's second task exists: it would break the one-task key."""
    with op.batch_alter_table('assessment_configs') as batch:
        batch.drop_column('basic_satisfaction_weight')
        batch.drop_column('response_hours')
    with op.batch_alter_table('recipients') as batch:
        batch.drop_column('source')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_constraint('uq_tasks_event_id_unit_id_reopening', type_='unique')
        batch.create_unique_constraint('uq_tasks_event_id_unit_id', ['event_id', 'unit_id'])
        batch.drop_column('reopening')
    op.drop_index(op.f('ix_case_revisits_case_id'), table_name='case_revisits')
    op.drop_table('case_revisits')
