"""people: staff apart from accounts, 包片/包点/包联 assignments, tasks to persons, the on-call roster

Staff are people with a position and a unit, optionally linked to an account. Grids carry their
responsible person and collector (监督员), streets their responsible person, units their 包联 leader;
a task may be assigned to a person of its unit; shifts are the on-call roster (值班表).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 23:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('position', sa.String(length=32), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_staff_unit_id')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_user_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
        sa.UniqueConstraint('code', name=op.f('uq_staff_code')),
        sa.UniqueConstraint('phone', name=op.f('uq_staff_phone')),
        sa.UniqueConstraint('user_id', name=op.f('uq_staff_user_id')),
    )
    op.create_index(op.f('ix_staff_unit_id'), 'staff', ['unit_id'])
    op.create_table(
        'shifts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['staff.id'], name=op.f('fk_shifts_person_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_shifts_unit_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    )
    op.create_index(op.f('ix_shifts_person_id'), 'shifts', ['person_id'])
    op.create_index('ix_shifts_unit_time', 'shifts', ['unit_id', 'starts_at', 'ends_at'])
    op.create_table(
        'streets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name_zh', sa.String(length=200), nullable=False),
        sa.Column('name_en', sa.String(length=200), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('responsible_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['responsible_id'], ['staff.id'], name=op.f('fk_streets_responsible_id')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_streets_unit_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_streets')),
        sa.UniqueConstraint('code', name=op.f('uq_streets_code')),
    )
    with op.batch_alter_table('grids') as batch:
        batch.add_column(sa.Column('responsible_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('collector_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_grids_responsible_id', 'staff', ['responsible_id'], ['id'])
        batch.create_foreign_key('fk_grids_collector_id', 'staff', ['collector_id'], ['id'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_tasks_assignee_id'), ['assignee_id'])
        batch.create_foreign_key(batch.f('fk_tasks_assignee_id'), 'staff', ['assignee_id'], ['id'])
    with op.batch_alter_table('units') as batch:
        batch.add_column(sa.Column('liaison_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_units_liaison_id', 'staff', ['liaison_id'], ['id'])
    op.execute("INSERT INTO roles (code, name_zh, name_en) SELECT 'collector', '监督员', 'Collector' "
               "WHERE NOT EXISTS (SELECT 1 FROM roles WHERE code = 'collector')")
    op.execute("INSERT INTO roles (code, name_zh, name_en) SELECT 'shift_leader', '值班长', 'Shift leader' "
               "WHERE NOT EXISTS (SELECT 1 FROM roles WHERE code = 'shift_leader')")


def downgrade() -> None:
    with op.batch_alter_table('units') as batch:
        batch.drop_constraint('fk_units_liaison_id', type_='foreignkey')
        batch.drop_column('liaison_id')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_constraint(batch.f('fk_tasks_assignee_id'), type_='foreignkey')
        batch.drop_index(batch.f('ix_tasks_assignee_id'))
        batch.drop_column('assignee_id')
    with op.batch_alter_table('grids') as batch:
        batch.drop_constraint('fk_grids_collector_id', type_='foreignkey')
        batch.drop_constraint('fk_grids_responsible_id', type_='foreignkey')
        batch.drop_column('collector_id')
        batch.drop_column('responsible_id')
    op.drop_table('streets')
    op.drop_index('ix_shifts_unit_time', table_name='shifts')
    op.drop_index(op.f('ix_shifts_person_id'), table_name='shifts')
    op.drop_table('shifts')
    op.drop_index(op.f('ix_staff_unit_id'), table_name='staff')
    op.drop_table('staff')
    op.execute("DELETE FROM roles WHERE code IN ('collector', 'shift_leader') "
               "AND NOT EXISTS (SELECT 1 FROM users WHERE users.role = roles.code)")
