"""anchored ladders (issue 15 points 1-2, DESIGN 14): timeline steps are anchored to the task's deadline,
supervising bodies name the unit types they supervise, a category may name its timeline, and a task's
steps keep their anchor so an extension plans them again

How existing timelines are migrated (the old steps counted `after_minutes` from dispatch, in the step's own
time mode, which is dropped: a step now counts in its task's time mode, as its deadline was counted):
- a `remind` step becomes a warning at 80 % of the limit (anchor `share`, 0.8);
- an `order` step becomes 督办 at the deadline (anchor `at`);
- an `escalate` or `list_publicly` step becomes overdue by its old duration (anchor `after`), so a public
  listing never comes before the deadline and the growing order of the old ladder is kept;
- the steps of each timeline are renumbered in due order (share, before, at, after; then by duration).
Versions published before this keep their frozen bundle; engine/handling/ladder.py reads an old frozen step
the same way. Task steps already planned keep their due instants (no anchor: an extension shifts them by the
deadline's move).

Revision ID: 0026
Revises: 0028
Create Date: 2026-12-06 05:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0028'
branch_labels = None
depends_on = None

RANK = {"share": 0, "before": 1, "at": 2, "after": 3}


def upgrade() -> None:
    with op.batch_alter_table('timeline_steps') as batch:
        batch.add_column(sa.Column('anchor', sa.String(16), nullable=False, server_default='at'))
        batch.add_column(sa.Column('share', sa.Float(), nullable=True))
    steps = sa.table('timeline_steps', sa.column('id', sa.Integer), sa.column('timeline_id', sa.Integer),
                     sa.column('position', sa.Integer), sa.column('after_minutes', sa.Float),
                     sa.column('action', sa.String), sa.column('anchor', sa.String), sa.column('share', sa.Float))
    bind = op.get_bind()
    rows = bind.execute(sa.select(steps.c.id, steps.c.timeline_id, steps.c.position, steps.c.after_minutes,
                                  steps.c.action)).all()
    planned: dict[int, list[tuple]] = {}
    for row in rows:
        if row.action == "remind":
            anchor, share, minutes = "share", 0.8, 0.0
        elif row.action == "order":
            anchor, share, minutes = "at", None, 0.0
        else:
            anchor, share, minutes = "after", None, float(row.after_minutes or 0)
        planned.setdefault(row.timeline_id, []).append((RANK[anchor], minutes, row.position, row.id, anchor, share))
    for group in planned.values():
        for position, (_, minutes, _, step_id, anchor, share) in enumerate(sorted(group)):
            bind.execute(steps.update().where(steps.c.id == step_id).values(
                anchor=anchor, share=share, after_minutes=minutes, position=position))
    with op.batch_alter_table('timeline_steps') as batch:
        batch.drop_column('time_mode')
    with op.batch_alter_table('supervision_tiers') as batch:
        batch.add_column(sa.Column('rung', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('unit_types', sa.JSON(), nullable=True))
    with op.batch_alter_table('categories') as batch:
        batch.add_column(sa.Column('timeline_code', sa.String(64), nullable=True))
    with op.batch_alter_table('task_steps') as batch:
        batch.add_column(sa.Column('anchor', sa.String(16), nullable=True))
        batch.add_column(sa.Column('share', sa.Float(), nullable=True))
        batch.add_column(sa.Column('offset_minutes', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('task_steps') as batch:
        batch.drop_column('offset_minutes')
        batch.drop_column('share')
        batch.drop_column('anchor')
    with op.batch_alter_table('categories') as batch:
        batch.drop_column('timeline_code')
    with op.batch_alter_table('supervision_tiers') as batch:
        batch.drop_column('unit_types')
        batch.drop_column('rung')
    with op.batch_alter_table('timeline_steps') as batch:
        batch.add_column(sa.Column('time_mode', sa.String(16), nullable=False, server_default='working'))
    with op.batch_alter_table('timeline_steps') as batch:
        batch.drop_column('share')
        batch.drop_column('anchor')
