"""retention: policies per kind and their runs, legal holds and their items, per-subject keys (erasure)

Revision ID: 0017_retention
Revises: 0016_governance
Create Date: 2026-12-06 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_retention'
down_revision = '0016_governance'
branch_labels = None
depends_on = None

_KINDS = "kind in ('orders', 'fills', 'quotes', 'engine_events', 'audit', 'exports', 'report_files')"


def upgrade():
    op.create_table('retention_policies',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(_KINDS, name=op.f('ck_retention_policies_kind')),
    sa.CheckConstraint('days >= 1 and days <= 36500', name=op.f('ck_retention_policies_days')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_retention_policies'))
    )
    op.create_table('retention_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('archived', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("state in ('running', 'succeeded', 'failed')", name=op.f('ck_retention_runs_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_runs'))
    )
    op.create_index('ix_retention_runs_kind_started', 'retention_runs', ['kind', 'started_at'], unique=False)
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_name', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    op.create_index('ix_legal_holds_released', 'legal_holds', ['released_at'], unique=False)
    op.create_table('legal_hold_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('time_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('time_to', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(_KINDS, name=op.f('ck_legal_hold_items_kind')),
    sa.CheckConstraint('record_id is not null or account_id is not null or instrument_id is not null '
                       'or time_from is not null or time_to is not null', name=op.f('ck_legal_hold_items_selector')),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], name=op.f('fk_legal_hold_items_hold_id_legal_holds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold_items'))
    )
    op.create_index(op.f('ix_legal_hold_items_hold_id'), 'legal_hold_items', ['hold_id'], unique=False)
    op.create_index('ix_legal_hold_items_kind', 'legal_hold_items', ['kind'], unique=False)
    op.create_table('subject_keys',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_subject_keys'))
    )


def downgrade():
    op.drop_table('subject_keys')
    op.drop_index('ix_legal_hold_items_kind', table_name='legal_hold_items')
    op.drop_index(op.f('ix_legal_hold_items_hold_id'), table_name='legal_hold_items')
    op.drop_table('legal_hold_items')
    op.drop_index('ix_legal_holds_released', table_name='legal_holds')
    op.drop_table('legal_holds')
    op.drop_index('ix_retention_runs_kind_started', table_name='retention_runs')
    op.drop_table('retention_runs')
    op.drop_table('retention_policies')
