"""quotes: no per-row foreign key to instruments (ingest holds FOR KEY SHARE instead; DECISIONS D21)

Revision ID: 0006_quotes_without_fk
Revises: 0005_report_files
Create Date: 2026-11-22 06:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006_quotes_without_fk'
down_revision = '0005_report_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_constraint('fk_quotes_instrument_id_instruments', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_quotes_instrument_id_instruments', 'instruments', ['instrument_id'], ['id'])
