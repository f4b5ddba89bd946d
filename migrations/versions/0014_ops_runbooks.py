"""operations console: runbook runs and log index (placeholder reserved for its issue; filled in by the work that needs it)

Revision ID: 0014_ops_runbooks
Revises: 0013_ops_health
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0014_ops_runbooks'
down_revision = '0013_ops_health'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
