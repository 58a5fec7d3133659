"""certificates

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

import core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("pfx_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("password_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("common_name", sa.String(length=300), nullable=False),
        sa.Column("cnpj", sa.String(length=14), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("issuer", sa.String(length=1000), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("not_before", core.db.UTCDateTime(), nullable=False),
        sa.Column("not_after", core.db.UTCDateTime(), nullable=False),
        sa.Column("uploaded_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("replaced_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_certificates_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_certificates_uploaded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_key_id"), ["key_id"], unique=False)
        batch_op.create_index("ix_certificates_active_not_after", ["is_active", "not_after"], unique=False)
        batch_op.create_index(
            "uq_certificates_client_active",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )

    op.create_table(
        "certificate_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_certificate_alerts_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_alerts")),
        sa.UniqueConstraint("certificate_id", "threshold", name=op.f("uq_certificate_alerts_certificate_id_threshold")),
    )

    op.create_table(
        "integration_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_integration_keys_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_integration_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_integration_keys_key_hash")),
    )
    with op.batch_alter_table("integration_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integration_keys_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_integration_keys_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            "uq_integration_keys_client_current",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("expires_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=sa.text("expires_at IS NULL AND revoked_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("integration_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_integration_keys_client_current")
        batch_op.drop_index(batch_op.f("ix_integration_keys_key_id"))
        batch_op.drop_index(batch_op.f("ix_integration_keys_client_id"))
    op.drop_table("integration_keys")
    op.drop_table("certificate_alerts")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("uq_certificates_client_active")
        batch_op.drop_index("ix_certificates_active_not_after")
        batch_op.drop_index(batch_op.f("ix_certificates_key_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_client_id"))
    op.drop_table("certificates")
