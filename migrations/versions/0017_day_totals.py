"""fiscal day totals: count and R$ per client, environment, Brasília day (AAAAMMDD), model, direction and
status, kept by the ingestion beside the month totals (the accountants' portal reads a period's totals and
chart from a few rows per day); filled from the documents already stored, the day worked out in Brasília
time (UTC−3) as the month of fiscal_month_totals is.

Revision ID: 0017_day_totals
Revises: 0015_orders
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_day_totals'
down_revision = '0015_orders'
branch_labels = None
depends_on = None


def _brasilia_day(dialect: str) -> str:
    # the same expression as fiscal.services.brasilia_day_sql (a migration does not import the app's code)
    if dialect == "postgresql":
        return "CAST(to_char(issued_at - interval '3 hours', 'YYYYMMDD') AS INTEGER)"
    return "CAST(strftime('%Y%m%d', issued_at, '-3 hours') AS INTEGER)"


def upgrade():
    op.create_table('fiscal_day_totals',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('environment', sa.SmallInteger(), nullable=False),
    sa.Column('issued_day', sa.Integer(), nullable=False),
    sa.Column('model', sa.SmallInteger(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_day_totals_client_id_clients')),
    sa.PrimaryKeyConstraint('client_id', 'environment', 'issued_day', 'model', 'direction', 'status', name=op.f('pk_fiscal_day_totals'))
    )
    day = _brasilia_day(op.get_bind().dialect.name)
    op.execute(
        "INSERT INTO fiscal_day_totals (client_id, environment, issued_day, model, direction, status, count, "
        f"total_cents) SELECT client_id, environment, {day}, model, direction, status, count(*), "
        "coalesce(sum(total_cents), 0) FROM fiscal_documents "
        f"GROUP BY client_id, environment, {day}, model, direction, status"
    )


def downgrade():
    op.drop_table('fiscal_day_totals')
