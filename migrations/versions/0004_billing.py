"""billing

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

import core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


PAYER = ("partner", "client")
INVOICE_STATUS = ("draft", "open", "paid", "void", "uncollectible")


def upgrade():
    op.create_table(
        "invoice_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_number >= 0", name=op.f("ck_invoice_sequences_last_number_not_negative")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_invoice_sequences")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=11), nullable=True),
        sa.Column("payer", _enum("invoice_payer", *PAYER), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", _enum("invoice_status", *INVOICE_STATUS), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("issued_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("paid_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("voided_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_invoices_total_not_negative")),
        sa.CheckConstraint(
            "(payer = 'partner' AND client_id IS NULL) OR (payer = 'client' AND client_id IS NOT NULL)",
            name=op.f("ck_invoices_payer_matches_client"),
        ),
        sa.CheckConstraint("number IS NOT NULL OR status IN ('draft', 'void')", name=op.f("ck_invoices_number_after_draft")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_invoices_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("payer_key", "month", name=op.f("uq_invoices_payer_key_month")),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.create_index(batch.f("ix_invoices_client_id"), ["client_id"], unique=False)
        batch.create_index(batch.f("ix_invoices_month"), ["month"], unique=False)
        batch.create_index("ix_invoices_partner_month", ["partner_id", "month"], unique=False)
        batch.create_index("ix_invoices_status_due_date", ["status", "due_date"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("invoice_line_kind", "charge", "credit"), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("list_price_cents", sa.Integer(), nullable=False),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.CheckConstraint("amount_cents = list_price_cents - discount_cents",
                           name=op.f("ck_invoice_lines_amount_is_price_minus_discount")),
        sa.CheckConstraint(
            "(kind = 'charge' AND amount_cents >= 0) OR (kind = 'credit' AND amount_cents <= 0)",
            name=op.f("ck_invoice_lines_sign_matches_kind"),
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_invoice_lines_period_ordered")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_invoice_lines_client_id_clients")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_invoice_lines_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines") as batch:
        batch.create_index(batch.f("ix_invoice_lines_client_id"), ["client_id"], unique=False)
        batch.create_index(batch.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("gateway", _enum("payment_gateway", "stripe", "manual"), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", _enum("payment_status", "pending_approval", "processing", "succeeded", "failed",
                                  "rejected"), nullable=False),
        sa.Column("failure_code", sa.String(length=80), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "approved_by_id IS NULL OR created_by_id IS NULL OR approved_by_id <> created_by_id",
            name=op.f("ck_payments_approver_differs"),
        ),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"], name=op.f("fk_payments_approved_by_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_payments_created_by_id_users")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments") as batch:
        batch.create_index(batch.f("ix_payments_invoice_id"), ["invoice_id"], unique=False)
        batch.create_index(batch.f("ix_payments_reference"), ["reference"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("stripe_refund_id", sa.String(length=120), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_refunds_created_by_id_users")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_refunds_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_refunds_stripe_refund_id")),
    )
    with op.batch_alter_table("refunds") as batch:
        batch.create_index(batch.f("ix_refunds_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "boletos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=120), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("pdf_url", sa.String(length=500), nullable=True),
        sa.Column("hosted_url", sa.String(length=500), nullable=True),
        sa.Column("expires_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_boletos_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boletos")),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_boletos_payment_intent_id")),
    )
    with op.batch_alter_table("boletos") as batch:
        batch.create_index(batch.f("ix_boletos_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "billing_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("method", _enum("payment_method", "boleto", "card"), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=120), nullable=True),
        sa.Column("card_payment_method_id", sa.String(length=120), nullable=True),
        sa.Column("card_brand", sa.String(length=30), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("card_exp_month", sa.Integer(), nullable=True),
        sa.Column("card_exp_year", sa.Integer(), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_billing_profiles_client_id_clients")),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_billing_profiles_partner_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_profiles")),
        sa.UniqueConstraint("payer_key", name=op.f("uq_billing_profiles_payer_key")),
    )
    with op.batch_alter_table("billing_profiles") as batch:
        batch.create_index(batch.f("ix_billing_profiles_partner_id"), ["partner_id"], unique=False)

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_event_id", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", _enum("webhook_status", "received", "processed", "ignored", "failed"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("received_at", core.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_webhook_events_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("stripe_event_id", name=op.f("uq_webhook_events_stripe_event_id")),
    )
    with op.batch_alter_table("webhook_events") as batch:
        batch.create_index(batch.f("ix_webhook_events_invoice_id"), ["invoice_id"], unique=False)
        batch.create_index(batch.f("ix_webhook_events_type"), ["type"], unique=False)

    op.create_table(
        "invoice_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_notices_invoice_id_invoices"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_notices")),
        sa.UniqueConstraint("invoice_id", "kind", name=op.f("uq_invoice_notices_invoice_id_kind")),
    )


def downgrade():
    op.drop_table("invoice_notices")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_index(batch.f("ix_webhook_events_type"))
        batch.drop_index(batch.f("ix_webhook_events_invoice_id"))
    op.drop_table("webhook_events")
    with op.batch_alter_table("billing_profiles") as batch:
        batch.drop_index(batch.f("ix_billing_profiles_partner_id"))
    op.drop_table("billing_profiles")
    with op.batch_alter_table("boletos") as batch:
        batch.drop_index(batch.f("ix_boletos_invoice_id"))
    op.drop_table("boletos")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_index(batch.f("ix_refunds_invoice_id"))
    op.drop_table("refunds")
    with op.batch_alter_table("payments") as batch:
        batch.drop_index(batch.f("ix_payments_reference"))
        batch.drop_index(batch.f("ix_payments_invoice_id"))
    op.drop_table("payments")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_index(batch.f("ix_invoice_lines_invoice_id"))
        batch.drop_index(batch.f("ix_invoice_lines_client_id"))
    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index("ix_invoices_status_due_date")
        batch.drop_index("ix_invoices_partner_month")
        batch.drop_index(batch.f("ix_invoices_month"))
        batch.drop_index(batch.f("ix_invoices_client_id"))
    op.drop_table("invoices")
    op.drop_table("invoice_sequences")
