"""operations console: service heartbeats, durable task history, SLO samples

Revision ID: 0013_ops_health
Revises: 0012_alerts
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_ops_health'
down_revision = '0012_alerts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_heartbeats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=32), nullable=False),
    sa.Column('instance', sa.String(length=160), nullable=False),
    sa.Column('host', sa.String(length=128), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_heartbeats')),
    sa.UniqueConstraint('service', 'instance', name='uq_service_heartbeats_service_instance')
    )
    op.create_table('task_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('queue', sa.String(length=32), nullable=False),
    sa.Column('worker', sa.String(length=160), nullable=False),
    sa.Column('args', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('runtime_s', sa.Float(), nullable=True),
    sa.Column('exception', sa.String(length=1000), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.CheckConstraint("state in ('started', 'succeeded', 'failed', 'retry', 'revoked')", name=op.f('ck_task_runs_state')),
    sa.CheckConstraint('retries >= 0', name=op.f('ck_task_runs_retries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_runs')),
    sa.UniqueConstraint('task_id', name=op.f('uq_task_runs_task_id'))
    )
    with op.batch_alter_table('task_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_runs_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_runs_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_runs_started_at'), ['started_at'], unique=False)

    op.create_table('slo_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slo', sa.String(length=40), nullable=False),
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.CheckConstraint('good >= 0 and total >= good', name=op.f('ck_slo_samples_counts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slo_samples')),
    sa.UniqueConstraint('slo', 'minute', name='uq_slo_samples_slo_minute')
    )
    with op.batch_alter_table('slo_samples', schema=None) as batch_op:
        batch_op.create_index('ix_slo_samples_minute', ['minute'], unique=False)


def downgrade():
    with op.batch_alter_table('slo_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_slo_samples_minute')
    op.drop_table('slo_samples')
    with op.batch_alter_table('task_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_runs_started_at'))
        batch_op.drop_index(batch_op.f('ix_task_runs_name'))
        batch_op.drop_index(batch_op.f('ix_task_runs_job_id'))
    op.drop_table('task_runs')
    op.drop_table('service_heartbeats')
