"""an e-mail may carry one attachment kept in the blob store (the export report)

Revision ID: 0010_mail_attachment
Revises: 0007_payments
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0010_mail_attachment'
down_revision = '0007_payments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_blob', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=200), nullable=True))



def downgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_column('attachment_name')
        batch_op.drop_column('attachment_blob')

