"""users.session_epoch: bumping it ends every session of that user

Revision ID: 0008_session_epoch
Revises: 0007_token_engines
Create Date: 2026-12-06 03:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_session_epoch'
down_revision = '0007_token_engines'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
