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
    pass


def downgrade():
    pass
