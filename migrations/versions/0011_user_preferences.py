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
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )


def downgrade():
    op.drop_table("user_preferences")
