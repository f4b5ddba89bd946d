"""user preferences: auto-refresh per page and the time range, remembered per user

Revision ID: 0011_user_preferences
Revises: 0010_engine_recovery
Create Date: 2026-12-06 03:05:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_user_preferences'
down_revision = '0010_engine_recovery'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
