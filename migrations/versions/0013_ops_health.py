"""operations console: service heartbeats, durable task history, SLO samples (placeholder reserved for its issue; filled in by the work that needs it)

Revision ID: 0013_ops_health
Revises: 0012_alerts
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0013_ops_health'
down_revision = '0012_alerts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
