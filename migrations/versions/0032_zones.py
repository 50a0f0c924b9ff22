"""zones on a map (issue 16 point 2) and the datum of intake sources and imports (point 4): zones are
GeoJSON in WGS-84; a token or an import declares whether its points are WGS-84, GCJ-02 or BD-09

Revision ID: 0032
Revises: 0029
Create Date: 2026-12-06 05:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0032'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'zones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('geometry', sa.JSON(), nullable=False),
        sa.Column('width_metres', sa.Float(), nullable=True),
        sa.Column('buffer_metres', sa.Float(), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_zones_campaign_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_zones')),
    )
    op.create_index(op.f('ix_zones_kind'), 'zones', ['kind'])
    op.create_index('ix_zones_stamp', 'zones', ['updated_at', 'active'])
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('crs', sa.String(length=8), server_default='wgs84', nullable=False))
    with op.batch_alter_table('import_runs') as batch:
        batch.add_column(sa.Column('crs', sa.String(length=8), server_default='wgs84', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('import_runs') as batch:
        batch.drop_column('crs')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('crs')
    op.drop_index('ix_zones_stamp', table_name='zones')
    op.drop_index(op.f('ix_zones_kind'), table_name='zones')
    op.drop_table('zones')
