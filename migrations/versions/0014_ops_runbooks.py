"""operations console: runbook runs (request, approval, execution and output of allowlisted actions)

Revision ID: 0014_ops_runbooks
Revises: 0013_ops_health
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_ops_runbooks'
down_revision = '0013_ops_health'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('runbook_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('dry_run', sa.String(length=4000), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('output', sa.String(length=8000), nullable=False),
    sa.CheckConstraint("state in ('requested', 'approved', 'running', 'succeeded', 'failed', 'rejected', 'expired')", name=op.f('ck_runbook_runs_state')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_runbook_runs_incident_id_incidents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbook_runs'))
    )
    with op.batch_alter_table('runbook_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runbook_runs_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_runbook_runs_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_runbook_runs_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runbook_runs_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('runbook_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runbook_runs_state'))
        batch_op.drop_index(batch_op.f('ix_runbook_runs_requested_at'))
        batch_op.drop_index(batch_op.f('ix_runbook_runs_incident_id'))
        batch_op.drop_index(batch_op.f('ix_runbook_runs_action'))
    op.drop_table('runbook_runs')
