"""api tokens bound to the engine ids they may report for

Revision ID: 0007_token_engines
Revises: 0006_quotes_without_fk
Create Date: 2026-12-06 03:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_token_engines'
down_revision = '0006_quotes_without_fk'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
