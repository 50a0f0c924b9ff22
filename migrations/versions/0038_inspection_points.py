"""inspection points (issue 17 point 1): the register of evaluation points (测评点位) by type, with place, responsible
unit and person (包点), and each type's responsible departments from the campaign's duty list

Revision ID: 0038
Revises: 0034
Create Date: 2026-12-06 09:00:00
"""
from alembic import op
import sqlalchemy as sa

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0038'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inspection_point_types',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('departments', sa.JSON(), nullable=False),
        sa.Column('duty', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_point_types')),
        sa.UniqueConstraint('code', name=op.f('uq_inspection_point_types_code')),
    )
    op.create_table(
        'inspection_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('type_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('place', sa.JSON(), nullable=False),
        sa.Column('reach_metres', sa.Float(), server_default='50', nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('grid_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['type_id'], ['inspection_point_types.id'], name=op.f('fk_inspection_points_type_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_inspection_points_unit_id')),
        sa.ForeignKeyConstraint(['person_id'], ['staff.id'], name=op.f('fk_inspection_points_person_id')),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_inspection_points_grid_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_points')),
        sa.UniqueConstraint('code', name=op.f('uq_inspection_points_code')),
    )
    op.create_index('ix_inspection_points_stamp', 'inspection_points', ['updated_at'])
    op.create_table(
        'checklist_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('type_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('method', sa.Text(), nullable=True),
        sa.Column('max_score', sa.Float(), nullable=False),
        sa.Column('frequency', sa.String(length=16), nullable=False),
        sa.Column('category_code', sa.String(length=16), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('example', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['type_id'], ['inspection_point_types.id'], name=op.f('fk_checklist_items_type_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_items')),
        sa.UniqueConstraint('type_id', 'code', name=op.f('uq_checklist_items_type_id_code')),
    )
    op.create_index(op.f('ix_checklist_items_type_id'), 'checklist_items', ['type_id'])
    op.create_table(
        'readiness_checks',
        sa.Column('id', BigId, nullable=False),
        sa.Column('point_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('results', sa.JSON(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['point_id'], ['inspection_points.id'], name=op.f('fk_readiness_checks_point_id')),
        sa.ForeignKeyConstraint(['person_id'], ['staff.id'], name=op.f('fk_readiness_checks_person_id')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_readiness_checks_user_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_checks')),
        sa.UniqueConstraint('point_id', 'day', name=op.f('uq_readiness_checks_point_id_day')),
    )


def downgrade() -> None:
    op.drop_table('readiness_checks')
    op.drop_index(op.f('ix_checklist_items_type_id'), table_name='checklist_items')
    op.drop_table('checklist_items')
    op.drop_index('ix_inspection_points_stamp', table_name='inspection_points')
    op.drop_table('inspection_points')
    op.drop_table('inspection_point_types')
