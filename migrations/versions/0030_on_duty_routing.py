"""on duty (issue 15 point 6): a person's own delivery channels (recipients of scope `person`), so that an alert
outside office hours reaches the person on duty instead of the unit's day address

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-06 05:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0030'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recipients') as batch:
        batch.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_recipients_person_id'), 'staff', ['person_id'], ['id'])
        batch.create_index(op.f('ix_recipients_person_id'), ['person_id'])


def downgrade() -> None:
    with op.batch_alter_table('recipients') as batch:
        batch.drop_index(op.f('ix_recipients_person_id'))
        batch.drop_constraint(op.f('fk_recipients_person_id'), type_='foreignkey')
        batch.drop_column('person_id')
