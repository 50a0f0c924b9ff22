"""mock and official evaluation (issue 17 point 3): evaluation rounds, each point's checklist scores in a mock
round (模拟测评), and the official evaluation's imported deductions attributed to unit and person; source types
up to 32 characters (official_evaluation has 19)

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06 12:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


#: The columns holding a source type (rules.facts.SOURCE_TYPES), 16 characters until now.
SOURCE_TYPE_COLUMNS = (('events', False), ('api_tokens', True), ('import_runs', False))


def _source_types(length: int, was: int) -> None:
    """SQLite does not enforce a VARCHAR's length, and its batch rebuild would drop tables others refer to."""
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, nullable in SOURCE_TYPE_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('source_type', existing_type=sa.String(length=was), type_=sa.String(length=length),
                               existing_nullable=nullable)


def upgrade() -> None:
    _source_types(32, 16)
    op.create_table(
        'evaluation_rounds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('run_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=True),
        sa.Column('point_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_evaluation_rounds_campaign_id')),
        sa.ForeignKeyConstraint(['run_by_id'], ['users.id'], name=op.f('fk_evaluation_rounds_run_by_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_rounds')),
        sa.UniqueConstraint('campaign_id', 'number', name=op.f('uq_evaluation_rounds_campaign_id_number')),
    )
    op.create_table(
        'evaluation_scores',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('point_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('max_score', sa.Float(), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('photos', sa.JSON(), nullable=False),
        sa.Column('inspector_id', sa.Integer(), nullable=True),
        sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_scores_round_id')),
        sa.ForeignKeyConstraint(['point_id'], ['inspection_points.id'], name=op.f('fk_evaluation_scores_point_id')),
        sa.ForeignKeyConstraint(['item_id'], ['checklist_items.id'], name=op.f('fk_evaluation_scores_item_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_evaluation_scores_unit_id')),
        sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_evaluation_scores_inspector_id')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_evaluation_scores_case_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scores')),
        sa.UniqueConstraint('round_id', 'point_id', 'item_id', name=op.f('uq_evaluation_scores_round_id_point_id_item_id')),
    )
    op.create_index(op.f('ix_evaluation_scores_round_id'), 'evaluation_scores', ['round_id'])
    op.create_table(
        'official_deductions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('point_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_official_deductions_round_id')),
        sa.ForeignKeyConstraint(['point_id'], ['inspection_points.id'], name=op.f('fk_official_deductions_point_id')),
        sa.ForeignKeyConstraint(['item_id'], ['checklist_items.id'], name=op.f('fk_official_deductions_item_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_official_deductions_unit_id')),
        sa.ForeignKeyConstraint(['person_id'], ['staff.id'], name=op.f('fk_official_deductions_person_id')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_official_deductions_case_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_official_deductions')),
        sa.UniqueConstraint('point_id', 'item_id', 'visited_on',
                            name=op.f('uq_official_deductions_point_id_item_id_visited_on')),
    )
    op.create_index(op.f('ix_official_deductions_round_id'), 'official_deductions', ['round_id'])
    op.create_index(op.f('ix_official_deductions_unit_id'), 'official_deductions', ['unit_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_official_deductions_unit_id'), table_name='official_deductions')
    op.drop_index(op.f('ix_official_deductions_round_id'), table_name='official_deductions')
    op.drop_table('official_deductions')
    op.drop_index(op.f('ix_evaluation_scores_round_id'), table_name='evaluation_scores')
    op.drop_table('evaluation_scores')
    op.drop_table('evaluation_rounds')
    _source_types(16, 32)
