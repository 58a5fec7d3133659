"""server-side logins (user_sessions); e-mail bodies sealed at rest

Revision ID: 0005_sessions
Revises: 0009_fiscal_monitor

The outbox kept every body (reset, first-access, acceptance and signup links) in plain text. The
bodies are now sealed with the master-key ring (core.crypto), so this migration needs the app's
key ring: it runs under ``flask --app app db upgrade`` (an app context) like every migration here.
"""
from alembic import op
import sqlalchemy as sa

import core.db

revision = "0005_sessions"
down_revision = "0009_fiscal_monitor"  # 0004 when written; the coordinator re-chains
branch_labels = None
depends_on = None

AAD = b"revenda.outbox-email"  # as core.mail._AAD

outbox = sa.table(
    "outbox_emails",
    sa.column("id", sa.Integer), sa.column("body_text", sa.Text), sa.column("body_html", sa.Text),
    sa.column("text_sealed", sa.LargeBinary), sa.column("html_sealed", sa.LargeBinary),
)


def _ring():
    from core.keyring import get_keyring

    return get_keyring()


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_sessions_secret_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("html_sealed", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.body_text, outbox.c.body_html)).all()
    if rows:
        ring = _ring()
        for row in rows:
            bind.execute(outbox.update().where(outbox.c.id == row.id).values(
                text_sealed=ring.encrypt((row.body_text or "").encode(), aad=AAD),
                html_sealed=None if row.body_html is None else ring.encrypt(row.body_html.encode(), aad=AAD),
            ))
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.drop_column("body_html")
        batch_op.drop_column("body_text")


def downgrade():
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.text_sealed, outbox.c.html_sealed)).all()
    if rows:
        ring = _ring()
        for row in rows:
            bind.execute(outbox.update().where(outbox.c.id == row.id).values(
                body_text="" if row.text_sealed is None else ring.decrypt(row.text_sealed, aad=AAD).decode(),
                body_html=None if row.html_sealed is None else ring.decrypt(row.html_sealed, aad=AAD).decode(),
            ))
    with op.batch_alter_table("outbox_emails", schema=None) as batch_op:
        batch_op.alter_column("body_text", server_default=None)
        batch_op.drop_column("html_sealed")
        batch_op.drop_column("text_sealed")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
