"""blob packs: a fiscal document's or event's XML may sit inside a pack (one object per ingested batch);
the row keeps where its zlib stream is (pack, offset, length) beside blob_sha256. Rows written before
keep an empty pack: their blob is the one object named by the digest, as before.

Revision ID: 0018_blobpack
Revises: 0017_day_totals
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_blobpack'
down_revision = '0017_day_totals'
branch_labels = None
depends_on = None

TABLES = ('fiscal_documents', 'fiscal_events')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('blob_pack', sa.String(length=64), server_default='', nullable=False))
            batch_op.add_column(sa.Column('blob_offset', sa.BigInteger(), server_default='0', nullable=False))
            batch_op.add_column(sa.Column('blob_length', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('blob_length')
            batch_op.drop_column('blob_offset')
            batch_op.drop_column('blob_pack')
