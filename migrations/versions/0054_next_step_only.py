"""a task's ladder is written one step ahead (issue 18 point 4): the pending step carries the steps planned after it,
and the escalation poller writes the next when it runs; existing tasks keep their rows, which run as before

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-07 16:40:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = '0054'
down_revision = '0053'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task_steps') as batch:
        batch.add_column(sa.Column('later', sa.JSON(none_as_null=True), nullable=True))


def _utc(instant: str, dialect: str) -> datetime:
    due = datetime.fromisoformat(instant).astimezone(timezone.utc)
    return due.replace(tzinfo=None) if dialect == "sqlite" else due


def downgrade() -> None:
    """Write the planned steps out as pending rows, as they were before 0054, then drop the column."""
    bind = op.get_bind()
    steps = sa.table('task_steps', sa.column('id', sa.BigInteger), sa.column('task_id', sa.BigInteger),
                     sa.column('position', sa.Integer), sa.column('action', sa.String),
                     sa.column('tier_level', sa.Integer), sa.column('unless_state', sa.String),
                     sa.column('anchor', sa.String), sa.column('share', sa.Float),
                     sa.column('offset_minutes', sa.Float), sa.column('due_at', sa.DateTime(timezone=True)),
                     sa.column('status', sa.String), sa.column('later', sa.JSON))
    rows = bind.execute(sa.select(steps.c.task_id, steps.c.later)
                        .where(steps.c.later.is_not(None))).all()
    for task_id, later in rows:
        for planned in later or []:
            bind.execute(steps.insert().values(
                task_id=task_id, position=planned["position"], action=planned["action"],
                tier_level=planned.get("tier_level"), unless_state=planned.get("unless_state"),
                anchor=planned.get("anchor"), share=planned.get("share"),
                offset_minutes=planned.get("offset_minutes"), due_at=_utc(planned["due_at"], bind.dialect.name),
                status="pending"))
    with op.batch_alter_table('task_steps') as batch:
        batch.drop_column('later')
