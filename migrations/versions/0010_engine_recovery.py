"""engine recovery: what the paper engine needs to resume its book after a restart

Revision ID: 0010_engine_recovery
Revises: 0009_audit_checkpoint
Create Date: 2026-12-06 03:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_engine_recovery'
down_revision = '0009_audit_checkpoint'
branch_labels = None
depends_on = None


def upgrade():
    # The engine's recovery reads existing tables (positions, orders, quotes, events); the only
    # new need is finding restart events by kind and time for the equity chart's markers.
    with op.batch_alter_table('engine_events', schema=None) as batch_op:
        batch_op.create_index('ix_engine_events_kind_ts', ['kind', 'ts'], unique=False)


def downgrade():
    with op.batch_alter_table('engine_events', schema=None) as batch_op:
        batch_op.drop_index('ix_engine_events_kind_ts')
