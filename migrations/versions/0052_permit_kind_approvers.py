"""permit approvers (seed 001 duties ⑨ ⑩): each permit kind's approving unit, its reviewing unit and whether its
approvals are filed with the committee (permit_kinds); a permit records who declared (申报) and reviewed (审定) it

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-07 09:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0052'
down_revision = '0051'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'permit_kinds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('approver_id', sa.Integer(), nullable=True),
        sa.Column('reviewer_id', sa.Integer(), nullable=True),
        sa.Column('filing_required', sa.Boolean(), nullable=False, server_default='0'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['approver_id'], ['units.id'], name=op.f('fk_permit_kinds_approver_id')),
        sa.ForeignKeyConstraint(['reviewer_id'], ['units.id'], name=op.f('fk_permit_kinds_reviewer_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_kinds')),
        sa.UniqueConstraint('kind', name=op.f('uq_permit_kinds_kind')),
    )
    with op.batch_alter_table('permits') as batch:
        batch.add_column(sa.Column('declared_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_permits_declared_by_id'), 'units', ['declared_by_id'], ['id'])
        batch.create_foreign_key(op.f('fk_permits_reviewed_by_id'), 'units', ['reviewed_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('permits') as batch:
        batch.drop_constraint(op.f('fk_permits_reviewed_by_id'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_permits_declared_by_id'), type_='foreignkey')
        batch.drop_column('reviewed_by_id')
        batch.drop_column('declared_by_id')
    op.drop_table('permit_kinds')
