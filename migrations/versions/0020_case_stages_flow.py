"""case stages (issue 14, DESIGN 12): which source types are verified before filing, the stage clocks of a
campaign, a case's collector, clock and verification, closing condition; a located report outside every grid
is kept (events and cases without a grid); verification photos are evidence of a case

Downgrading deletes the filing-phase firings (the old key allows one firing per event, version and rule) and
fails while an event or a case has no grid: route or remove those first.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 02:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: source type, verified first (核实) before filing, confidence at or above which it files directly
POLICIES = [("hotline", True, None), ("citizen", True, None), ("media", True, None), ("camera", True, 0.8),
            ("patrol", False, None), ("inspection", False, None), ("leader", False, None)]


def upgrade() -> None:
    policies = op.create_table(
        'intake_policies',
        sa.Column('source_type', sa.String(length=24), nullable=False),
        sa.Column('verify', sa.Boolean(), nullable=False),
        sa.Column('trusted_confidence', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('source_type', name=op.f('pk_intake_policies')),
    )
    op.bulk_insert(policies, [{"source_type": s, "verify": v, "trusted_confidence": c} for s, v, c in POLICIES])
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('accept_minutes', sa.Integer(), server_default='15', nullable=False))
        batch.add_column(sa.Column('verify_minutes', sa.Integer(), server_default='30', nullable=False))
        batch.add_column(sa.Column('dispatch_minutes', sa.Integer(), server_default='15', nullable=False))
    with op.batch_alter_table('cases') as batch:
        batch.alter_column('grid_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('verifier_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('stage_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('verification', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('closing_condition', sa.String(length=32), nullable=True))
        batch.create_foreign_key(op.f('fk_cases_verifier_id'), 'staff', ['verifier_id'], ['id'])
        batch.create_index('ix_cases_stage_due', ['stage', 'stage_due_at'])
    with op.batch_alter_table('events') as batch:
        batch.alter_column('grid_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('firings') as batch:
        batch.drop_constraint('uq_firings_event_id_ruleset_version_id_rule_key', type_='unique')
        batch.create_unique_constraint('uq_firings_event_id_ruleset_version_id_rule_key_phase',
                                       ['event_id', 'ruleset_version_id', 'rule_key', 'phase'])
    with op.batch_alter_table('evidence') as batch:
        batch.alter_column('task_id', existing_type=BigId, nullable=True)
        batch.add_column(sa.Column('case_id', BigId, nullable=True))
        batch.create_foreign_key(op.f('fk_evidence_case_id'), 'cases', ['case_id'], ['id'])
        batch.create_index('ix_evidence_case', ['case_id'])


def downgrade() -> None:
    with op.batch_alter_table('evidence') as batch:
        batch.drop_index('ix_evidence_case')
        batch.drop_constraint(op.f('fk_evidence_case_id'), type_='foreignkey')
        batch.drop_column('case_id')
        batch.alter_column('task_id', existing_type=BigId, nullable=False)
    op.execute("DELETE FROM firings WHERE phase = 'filing'")
    with op.batch_alter_table('firings') as batch:
        batch.drop_constraint('uq_firings_event_id_ruleset_version_id_rule_key_phase', type_='unique')
        batch.create_unique_constraint('uq_firings_event_id_ruleset_version_id_rule_key',
                                       ['event_id', 'ruleset_version_id', 'rule_key'])
    with op.batch_alter_table('events') as batch:
        batch.alter_column('grid_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('cases') as batch:
        batch.drop_index('ix_cases_stage_due')
        batch.drop_constraint(op.f('fk_cases_verifier_id'), type_='foreignkey')
        batch.drop_column('closing_condition')
        batch.drop_column('verification')
        batch.drop_column('stage_due_at')
        batch.drop_column('verifier_id')
        batch.alter_column('grid_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('dispatch_minutes')
        batch.drop_column('verify_minutes')
        batch.drop_column('accept_minutes')
    op.drop_table('intake_policies')
