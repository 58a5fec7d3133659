"""contingency alerts of the fiscal monitor

Revision ID: 0009_fiscal_monitor
Revises: 0008_fiscal
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0009_fiscal_monitor'
down_revision = '0008_fiscal'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fiscal_contingency_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('sent_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['fiscal_documents.id'], name=op.f('fk_fiscal_contingency_alerts_document_id_fiscal_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_contingency_alerts')),
    sa.UniqueConstraint('document_id', 'kind', name=op.f('uq_fiscal_contingency_alerts_document_id_kind'))
    )


def downgrade():
    op.drop_table('fiscal_contingency_alerts')
