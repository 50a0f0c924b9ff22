"""recipients' webhook keys and signing secrets stored sealed (issue 19.4): the address and secret columns grow
to text and every existing value is encrypted with the instance's secrets key (engine/core/sealed_text.py)

Revision ID: 0048
Revises: 0049
Create Date: 2026-12-06 15:30:00
"""
import sqlalchemy as sa
from alembic import op

from engine.core.sealed_text import cipher, is_sealed

revision = '0048'
down_revision = '0049'
branch_labels = None
depends_on = None

recipients = sa.table('recipients', sa.column('id', sa.Integer), sa.column('address', sa.Text),
                      sa.column('secret', sa.Text))


def _rewrite(change) -> None:
    """Each row's address and secret passed through `change`, in the migration's transaction."""
    conn = op.get_bind()
    for ident, address, secret in conn.execute(sa.select(recipients.c.id, recipients.c.address,
                                                         recipients.c.secret)).all():
        conn.execute(recipients.update().where(recipients.c.id == ident).values(
            address=change(address), secret=change(secret)))


def upgrade() -> None:
    with op.batch_alter_table('recipients') as batch:
        batch.alter_column('address', type_=sa.Text(), existing_type=sa.String(length=500), existing_nullable=False)
        batch.alter_column('secret', type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True)
    sealing = cipher()
    _rewrite(lambda value: value if value is None or is_sealed(value) else sealing.seal(value))


def downgrade() -> None:
    opening = cipher()
    _rewrite(lambda value: opening.open(value) if value is not None else None)
    with op.batch_alter_table('recipients') as batch:
        batch.alter_column('address', type_=sa.String(length=500), existing_type=sa.Text(), existing_nullable=False)
        batch.alter_column('secret', type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=True)
