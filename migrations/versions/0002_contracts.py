"""contracts: signup links, terms and acceptances, contract events, pending plan changes,
trial and status-reason columns on clients; seeds the terms v1.

Revision ID: 0002
Revises: 0001
"""
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from alembic import op
import sqlalchemy as sa

import core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TERMS_V1 = Path(__file__).resolve().parents[2] / "templates" / "contracts" / "terms_v1.txt"


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("trial_ends_at", core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("trial_auto_activate", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("trial_warning_sent_at", core.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_clients_trial_ends_at"), ["trial_ends_at"], unique=False)

    terms = op.create_table(
        "terms_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_terms_versions_version")),
    )
    with op.batch_alter_table("terms_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terms_versions_published_at"), ["published_at"], unique=False)

    op.create_table(
        "acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("terms_version_id", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", _enum("acceptance_channel", "signup", "email_link", "client_area"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_acceptances_client_id_clients")),
        sa.ForeignKeyConstraint(["terms_version_id"], ["terms_versions.id"],
                                name=op.f("fk_acceptances_terms_version_id_terms_versions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_acceptances_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptances")),
        sa.UniqueConstraint("client_id", "terms_version_id", name=op.f("uq_acceptances_client_id_terms_version_id")),
    )
    with op.batch_alter_table("acceptances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acceptances_client_id"), ["client_id"], unique=False)

    op.create_table(
        "contract_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("at", core.db.UTCDateTime(), nullable=False),
        sa.Column("effective_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("kind", _enum("contract_event_kind", "created", "status", "plan", "plan_scheduled",
                                "plan_schedule_cancelled", "payer", "trial", "acceptance", "acceptance_requested"),
                  nullable=False),
        sa.Column("from_value", sa.String(length=64), nullable=True),
        sa.Column("to_value", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_contract_events_actor_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_contract_events_client_id_clients")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_contract_events_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_events")),
    )
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.create_index("ix_contract_events_client_effective", ["client_id", "effective_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contract_events_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "signup_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("software_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("payer", _enum("payer", "partner", "client"), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("client_email", sa.String(length=254), nullable=True),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("used_by_client_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("last_sent_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("trial_days >= 0 AND trial_days <= 90", name=op.f("ck_signup_links_trial_days_range")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_signup_links_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_signup_links_partner_id_partners")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_signup_links_plan_id_plans")),
        sa.ForeignKeyConstraint(["software_id"], ["software.id"], name=op.f("fk_signup_links_software_id_software")),
        sa.ForeignKeyConstraint(["used_by_client_id"], ["clients.id"],
                                name=op.f("fk_signup_links_used_by_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_links_token_hash")),
    )
    with op.batch_alter_table("signup_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signup_links_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "pending_plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("effective_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_pending_plan_changes_client_id_clients")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_pending_plan_changes_plan_id_plans")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_pending_plan_changes_requested_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_plan_changes")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pending_plan_changes_client_id")),
    )
    with op.batch_alter_table("pending_plan_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_plan_changes_effective_at"), ["effective_at"], unique=False)

    # The first terms version, so every database starts with terms to accept.
    text = TERMS_V1.read_text(encoding="utf-8")
    op.bulk_insert(terms, [{
        "version": "v1", "text": text, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "published_at": datetime(2026, 1, 1, tzinfo=UTC),
    }])


def downgrade():
    with op.batch_alter_table("pending_plan_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_plan_changes_effective_at"))
    op.drop_table("pending_plan_changes")
    with op.batch_alter_table("signup_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_links_partner_id"))
    op.drop_table("signup_links")
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_events_partner_id"))
        batch_op.drop_index("ix_contract_events_client_effective")
    op.drop_table("contract_events")
    with op.batch_alter_table("acceptances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acceptances_client_id"))
    op.drop_table("acceptances")
    with op.batch_alter_table("terms_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terms_versions_published_at"))
    op.drop_table("terms_versions")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_trial_ends_at"))
        batch_op.drop_column("trial_warning_sent_at")
        batch_op.drop_column("trial_auto_activate")
        batch_op.drop_column("trial_ends_at")
        batch_op.drop_column("status_reason")
