"""keyed audit chain (issue 19.5): a MAC per firing, task transition and change log entry, and the key of each seal;
rows and seals written before stay unkeyed and keep verifying as before

Revision ID: 0049
Revises: 0046
Create Date: 2026-12-06 15:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0049'
down_revision = '0046'
branch_labels = None
depends_on = None

CHAINED = ('firings', 'task_transitions', 'change_log')


def upgrade() -> None:
    for table in CHAINED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('mac', sa.String(length=100), nullable=True))
    with op.batch_alter_table('audit_seals') as batch:
        batch.add_column(sa.Column('key', sa.String(length=40), nullable=True))
    _note_keying_watermark()


def _note_keying_watermark() -> None:
    """Keep, beside the audit key and outside the database, the last row of each table written before keying: every
    later row must carry a MAC, so stripping MACs and rebuilding the seals without the key cannot pass as old."""
    from engine.core import keyring
    from engine.core.config import load_settings

    bind = op.get_bind()
    last = {table: int(bind.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar() or 0)
            for table in CHAINED}
    settings = load_settings()
    keyring.note(settings.instance, keyring.AUDIT, "unkeyed_up_to", last, settings.crypto.audit_key)


def downgrade() -> None:
    with op.batch_alter_table('audit_seals') as batch:
        batch.drop_column('key')
    for table in CHAINED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('mac')
