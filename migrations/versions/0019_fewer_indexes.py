"""fiscal_documents: one index for the lists and the accountants' portal (ix_fiscal_documents_period: the list
index's four columns then the portal's covering ones), and the contingency index partial (only the notes awaiting
authorization). Two index writes fewer for each note ingested.

Revision ID: 0019_fewer_indexes
Revises: 0018_blobpack
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_fewer_indexes'
down_revision = '0018_blobpack'
branch_labels = None
depends_on = None

CONTINGENCY = sa.text("status = 'contingency'")


def upgrade():
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_documents_period', ['client_id', 'environment', 'issued_at', 'id', 'model',
                                                             'status', 'direction', 'total_cents'], unique=False)
        batch_op.create_index('ix_fiscal_documents_contingency', ['environment', 'client_id', 'issued_at'], unique=False,
                              sqlite_where=CONTINGENCY, postgresql_where=CONTINGENCY)
        batch_op.drop_index('ix_fiscal_documents_portal')
        batch_op.drop_index('ix_fiscal_documents_list')
        batch_op.drop_index('ix_fiscal_documents_pending')


def downgrade():
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_documents_pending', ['status', 'issued_at'], unique=False)
        batch_op.create_index('ix_fiscal_documents_list', ['client_id', 'environment', 'issued_at', 'id'], unique=False)
        batch_op.create_index('ix_fiscal_documents_portal', ['client_id', 'environment', 'issued_at', 'model', 'status',
                                                             'direction', 'total_cents'], unique=False)
        batch_op.drop_index('ix_fiscal_documents_contingency')
        batch_op.drop_index('ix_fiscal_documents_period')
