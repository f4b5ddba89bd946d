"""jobs.worker: the Celery node running the current attempt, so the reaper asks that node about it

Revision ID: 0018_job_worker
Revises: 0017_retention
Create Date: 2026-12-06 20:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018_job_worker'
down_revision = '0017_retention'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("worker")
