"""fiscal month totals: count and R$ per client, month, environment, model, direction and status, kept by
the ingestion (the totals of a month read a handful of rows); filled from the documents already stored.
Exports name their environment (production or homologation, never mixed).

Revision ID: 0016_fiscal_totals
Revises: 0014_webhooks
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_fiscal_totals'
down_revision = '0014_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fiscal_month_totals',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('issued_month', sa.Integer(), nullable=False),
    sa.Column('environment', sa.SmallInteger(), nullable=False),
    sa.Column('model', sa.SmallInteger(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_month_totals_client_id_clients')),
    sa.PrimaryKeyConstraint('client_id', 'issued_month', 'environment', 'model', 'direction', 'status', name=op.f('pk_fiscal_month_totals'))
    )
    op.execute(
        "INSERT INTO fiscal_month_totals (client_id, issued_month, environment, model, direction, status, count, "
        "total_cents) SELECT client_id, issued_month, environment, model, direction, status, count(*), "
        "coalesce(sum(total_cents), 0) FROM fiscal_documents "
        "GROUP BY client_id, issued_month, environment, model, direction, status"
    )


    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('environment', sa.SmallInteger(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.drop_column('environment')
    op.drop_table('fiscal_month_totals')
