"""frontage holders who answer (issue 16 point 5): a holder's frontage and reach, its responsibility letter (责任书),
its code for imports; the holder named on cases and tasks; grids keep their standard 15-digit grid code

Revision ID: 0034
Revises: 0030
Create Date: 2026-12-06 08:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0034'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('frontage_holders') as batch:
        batch.add_column(sa.Column('code', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('frontage', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('reach_metres', sa.Float(), server_default='15', nullable=False))
        batch.add_column(sa.Column('letter_number', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('letter_signed_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('letter_signer', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('letter_duties', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('letter_valid_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('letter_valid_until', sa.Date(), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f('uq_frontage_holders_code'), ['code'])
        batch.create_index('ix_frontage_holders_stamp', ['updated_at'])
    with op.batch_alter_table('grids') as batch:
        batch.add_column(sa.Column('grid_code', sa.String(length=15), nullable=True))
        batch.create_unique_constraint(op.f('uq_grids_grid_code'), ['grid_code'])
    for table in ('cases', 'tasks'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('frontage_holder_id', sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f(f'fk_{table}_frontage_holder_id'), 'frontage_holders',
                                     ['frontage_holder_id'], ['id'])
    op.create_index(op.f('ix_cases_frontage_holder_id'), 'cases', ['frontage_holder_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_frontage_holder_id'), table_name='cases')
    for table in ('tasks', 'cases'):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f'fk_{table}_frontage_holder_id'), type_='foreignkey')
            batch.drop_column('frontage_holder_id')
    with op.batch_alter_table('grids') as batch:
        batch.drop_constraint(op.f('uq_grids_grid_code'), type_='unique')
        batch.drop_column('grid_code')
    with op.batch_alter_table('frontage_holders') as batch:
        batch.drop_index('ix_frontage_holders_stamp')
        batch.drop_constraint(op.f('uq_frontage_holders_code'), type_='unique')
        for column in ('updated_at', 'letter_valid_until', 'letter_valid_from', 'letter_duties', 'letter_signer',
                       'letter_signed_on', 'letter_number', 'reach_metres', 'frontage', 'code'):
            batch.drop_column(column)
