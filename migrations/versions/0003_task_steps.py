"""timeline steps of tasks (run by the escalation poller) and supervisors' actions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


APPEND_ONLY_TABLES = ("firings", "task_transitions", "audit_seals")
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION civicrules_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'CivicRules: % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('task_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('tier_level', sa.Integer(), nullable=True),
    sa.Column('unless_state', sa.String(length=16), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('task_status', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_steps_task_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_steps')),
    sa.UniqueConstraint('task_id', 'position', name=op.f('uq_task_steps_task_id_position'))
    )
    op.create_index('ix_task_steps_due', 'task_steps', ['status', 'due_at'], unique=False)
    op.create_table('supervisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tier_level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reply_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('replied_by', sa.Integer(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_supervisions_created_by')),
    sa.ForeignKeyConstraint(['replied_by'], ['users.id'], name=op.f('fk_supervisions_replied_by')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_supervisions_task_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisions'))
    )
    op.create_index(op.f('ix_supervisions_task_id'), 'supervisions', ['task_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_level', sa.Integer(), nullable=True))
    op.create_table('audit_seals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_seals')),
    sa.UniqueConstraint('kind', 'seq', name=op.f('uq_audit_seals_kind'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION civicrules_append_only()")
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_time', sa.String(length=5), nullable=False, server_default='06:40'))
    op.create_table('digests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('overdue_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_digests_campaign_id')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_digests_unit_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('campaign_id', 'unit_id', 'day', name=op.f('uq_digests_campaign_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rebound_task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(op.f('fk_events_rebound_task_id'), 'tasks', ['rebound_task_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS civicrules_append_only()")
    op.drop_table('audit_seals')
    op.drop_table('digests')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('digest_time')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_events_rebound_task_id'), type_='foreignkey')
        batch_op.drop_column('rebound_task_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('tier_level')
    op.drop_index(op.f('ix_supervisions_task_id'), table_name='supervisions')
    op.drop_table('supervisions')
    op.drop_index('ix_task_steps_due', table_name='task_steps')
    op.drop_table('task_steps')
