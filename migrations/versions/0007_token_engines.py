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
    # Tokens issued before this revision are bound to no engine, so they can no longer ingest: an
    # admin binds or re-issues them (`dashapp demo` re-issues the paper engine's own token).
    op.create_table('api_token_engines',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('engine_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_api_token_engines_token_id_api_tokens'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'engine_id', name=op.f('pk_api_token_engines'))
    )


def downgrade():
    op.drop_table('api_token_engines')
