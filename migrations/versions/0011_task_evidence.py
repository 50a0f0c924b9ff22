"""task templates gain a checklist and evidence rules; evidence files (photos) per task

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 10:25:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_templates') as batch:
        batch.add_column(sa.Column('checklist', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('evidence_rules', sa.JSON(), nullable=True))
    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_evidence_task_id')),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_evidence_uploader_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    op.create_index('ix_evidence_task', 'evidence', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_evidence_task', table_name='evidence')
    op.drop_table('evidence')
    with op.batch_alter_table('task_templates') as batch:
        batch.drop_column('evidence_rules')
        batch.drop_column('checklist')
