"""search: folded search_text and sort_name on clients (accent- and case-insensitive search, pt-BR
order; pg_trgm GIN index on PostgreSQL); sender name and reply-to on outbox e-mails

Revision ID: 0006_search
Revises: 0004
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0006_search"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 2000


def _fold(text):
    # A frozen copy of core.text.fold: a migration must not change when the app's code does.
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _backfill(connection) -> None:
    clients = sa.table(
        "clients", sa.column("id", sa.Integer), sa.column("legal_name", sa.String), sa.column("trade_name", sa.String),
        sa.column("cnpj", sa.String), sa.column("email", sa.String), sa.column("search_text", sa.Text),
        sa.column("sort_name", sa.String),
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(clients.c.id, clients.c.legal_name, clients.c.trade_name, clients.c.cnpj, clients.c.email)
            .where(clients.c.id > last_id).order_by(clients.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            clients.update().where(clients.c.id == sa.bindparam("row_id")).values(
                search_text=sa.bindparam("new_search_text"), sort_name=sa.bindparam("new_sort_name")),
            [
                {"row_id": r.id,
                 "new_search_text": "\n".join(_fold(f) for f in (r.legal_name, r.trade_name, (r.cnpj or "").lower(),
                                                                  r.email)),
                 "new_sort_name": _fold(r.legal_name)[:200]}
                for r in rows
            ],
        )
        last_id = rows[-1].id


def upgrade():
    connection = op.get_bind()
    is_postgresql = connection.dialect.name == "postgresql"
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("sort_name", sa.String(length=200), server_default="", nullable=False))
        batch.drop_index("ix_clients_partner_legal_name")
    _backfill(connection)
    op.create_index("ix_clients_partner_sort_name", "clients", ["partner_id", "sort_name", "id"])
    if is_postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_clients_search_text", "clients", ["search_text"], postgresql_using="gin",
                    postgresql_ops={"search_text": "gin_trgm_ops"})
    with op.batch_alter_table("outbox_emails") as batch:
        batch.add_column(sa.Column("sender_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_emails") as batch:
        batch.drop_column("reply_to")
        batch.drop_column("sender_name")
    op.drop_index("ix_clients_search_text", table_name="clients")
    op.drop_index("ix_clients_partner_sort_name", table_name="clients")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("sort_name")
        batch.drop_column("search_text")
        batch.create_index("ix_clients_partner_legal_name", ["partner_id", "legal_name", "id"])
    # pg_trgm stays installed: other databases objects may use it, and it costs nothing unused.
