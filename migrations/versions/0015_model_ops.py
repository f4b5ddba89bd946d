"""model operations: registry, alias history, gates, shadow signals, drift

Revision ID: 0015_model_ops
Revises: 0014_ops_runbooks
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_model_ops'
down_revision = '0014_ops_runbooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ml_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('symbol', sa.String(length=16), nullable=False),
    sa.Column('interval', sa.String(length=4), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_models')),
    sa.UniqueConstraint('name', name=op.f('uq_ml_models_name'))
    )
    op.create_table('ml_model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('artifact_path', sa.String(length=500), nullable=False),
    sa.Column('train_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('train_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('gates', sa.JSON(), nullable=False),
    sa.Column('gates_passed', sa.Boolean(), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('trials', sa.Integer(), nullable=False),
    sa.Column('code_version', sa.String(length=80), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('version >= 1 and trials >= 1', name=op.f('ck_ml_model_versions_counts')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_model_versions_model_id_ml_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_model_versions')),
    sa.UniqueConstraint('model_id', 'version', name='uq_ml_model_versions_model_version')
    )
    op.create_table('ml_model_aliases',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=12), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("alias in ('champion', 'challenger')", name=op.f('ck_ml_model_aliases_alias')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_model_aliases_model_id_ml_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['ml_model_versions.id'], name=op.f('fk_ml_model_aliases_version_id_ml_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'alias', name=op.f('pk_ml_model_aliases'))
    )
    op.create_table('ml_alias_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('moved_by', sa.String(length=64), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.CheckConstraint("alias in ('champion', 'challenger')", name=op.f('ck_ml_alias_history_alias')),
    sa.CheckConstraint("action in ('promote', 'rollback', 'challenger', 'clear')", name=op.f('ck_ml_alias_history_action')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_alias_history_model_id_ml_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_alias_history'))
    )
    op.create_index('ix_ml_alias_history_model_alias_moved', 'ml_alias_history', ['model_id', 'alias', 'moved_at'], unique=False)
    op.create_table('ml_shadow_signals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('signal', sa.Integer(), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('pnl', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role in ('champion', 'challenger')", name=op.f('ck_ml_shadow_signals_role')),
    sa.CheckConstraint('signal in (-1, 0, 1)', name=op.f('ck_ml_shadow_signals_signal')),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_shadow_signals_model_id_ml_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['ml_model_versions.id'], name=op.f('fk_ml_shadow_signals_version_id_ml_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_shadow_signals')),
    sa.UniqueConstraint('version_id', 'ts', name='uq_ml_shadow_signals_version_ts')
    )
    op.create_index('ix_ml_shadow_signals_model_ts', 'ml_shadow_signals', ['model_id', 'ts'], unique=False)


def downgrade():
    op.drop_index('ix_ml_shadow_signals_model_ts', table_name='ml_shadow_signals')
    op.drop_table('ml_shadow_signals')
    op.drop_index('ix_ml_alias_history_model_alias_moved', table_name='ml_alias_history')
    op.drop_table('ml_alias_history')
    op.drop_table('ml_model_aliases')
    op.drop_table('ml_model_versions')
    op.drop_table('ml_models')
