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
    # No head row is written here (the migration has no signing key): the next audit record writes
    # it, counting the records already in the table.
    op.create_table('audit_checkpoints',
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_audit_checkpoints'))
    )


def downgrade():
    op.drop_table('audit_checkpoints')
