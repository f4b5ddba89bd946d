"""audit checkpoints: the signed head of the chain, kept apart from the table

Revision ID: 0009_audit_checkpoint
Revises: 0008_session_epoch
Create Date: 2026-12-06 03:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_audit_checkpoint'
down_revision = '0008_session_epoch'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
