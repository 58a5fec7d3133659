"""manual payments record the day the money was received

Revision ID: 0007_payments
Revises: 0005_sessions
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_payments"
down_revision = "0005_sessions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("received_on")
