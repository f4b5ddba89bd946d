"""governance: MFA, approvals, login history, retention, legal holds, erasure keys (placeholder reserved for its issue; filled in by the work that needs it)

Revision ID: 0016_governance
Revises: 0015_model_ops
Create Date: 2026-12-06 06:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0016_governance'
down_revision = '0015_model_ops'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
