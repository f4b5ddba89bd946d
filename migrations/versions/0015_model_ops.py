"""model operations: registry, alias history, gates, shadow signals, drift (placeholder reserved for its issue; filled in by the work that needs it)

Revision ID: 0015_model_ops
Revises: 0014_ops_runbooks
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0015_model_ops'
down_revision = '0014_ops_runbooks'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
