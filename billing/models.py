"""Billing models: invoices and their lines (frozen snapshots), payments, refunds, boletos,
payer billing profiles, Stripe webhook events, dunning marks and the per-year number counter.

The invoice state machine lives here, beside its model (``TRANSITIONS``)."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow
from partner.models import Payer


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


#: Allowed status changes. A paid or void invoice never changes again (a refund is a separate
#: record); an uncollectible one may still be paid late or voided.
TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN, InvoiceStatus.VOID}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}),
    InvoiceStatus.UNCOLLECTIBLE: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}

#: Statuses still waiting for money.
PAYABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE})


class LineKind(enum.StrEnum):
    CHARGE = "charge"
    CREDIT = "credit"


class PaymentMethod(enum.StrEnum):
    BOLETO = "boleto"
    CARD = "card"


class PaymentGatewayKind(enum.StrEnum):
    STRIPE = "stripe"
    MANUAL = "manual"


class PaymentStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"  # manual: waits for a second finance user
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"  # manual: the second finance user refused it


class WebhookStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class InvoiceSequence(db.Model):
    """Last invoice number used in a year; its row is locked while numbers are handed out."""

    __tablename__ = "invoice_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(TimestampMixin, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        # One invoice per payer per month: "partner:12" / "client:34" is never NULL, so the
        # constraint also holds for partner invoices (client_id NULL).
        UniqueConstraint("payer_key", "month"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        CheckConstraint(
            "(payer = 'partner' AND client_id IS NULL) OR (payer = 'client' AND client_id IS NOT NULL)",
            name="payer_matches_client",
        ),
        CheckConstraint("number IS NOT NULL OR status IN ('draft', 'void')", name="number_after_draft"),
        Index("ix_invoices_status_due_date", "status", "due_date"),
        Index("ix_invoices_partner_month", "partner_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(11), unique=True)
    payer: Mapped[Payer] = mapped_column(str_enum(Payer, "invoice_payer"))
    payer_key: Mapped[str] = mapped_column(String(40))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(
        str_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    total_cents: Mapped[int] = mapped_column(default=0)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    partner = relationship("Partner")
    client = relationship("Client")
    lines = relationship(
        "InvoiceLine", back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )
    payments = relationship("Payment", back_populates="invoice", order_by="Payment.id")
    refunds = relationship("Refund", back_populates="invoice", order_by="Refund.id")
    boletos = relationship("Boleto", back_populates="invoice", order_by="Boleto.id")

    def __str__(self) -> str:
        return self.number or f"rascunho #{self.id}"

    @staticmethod
    def key_for(payer: Payer | str, owner_id: int) -> str:
        return f"{Payer(payer).value}:{owner_id}"

    def is_overdue(self, today: date) -> bool:
        return self.status in PAYABLE and self.due_date < today


class InvoiceLine(db.Model):
    """A line frozen at billing time: later price or plan changes never touch it.

    Credit lines carry negative amounts, so an invoice total is the plain sum of its lines."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("amount_cents = list_price_cents - discount_cents", name="amount_is_price_minus_discount"),
        CheckConstraint(
            "(kind = 'charge' AND amount_cents >= 0) OR (kind = 'credit' AND amount_cents <= 0)",
            name="sign_matches_kind",
        ),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind, "invoice_line_kind"), default=LineKind.CHARGE)
    description: Mapped[str] = mapped_column(String(300))
    list_price_cents: Mapped[int]
    discount_cents: Mapped[int] = mapped_column(default=0)
    amount_cents: Mapped[int]
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)

    invoice = relationship("Invoice", back_populates="lines")
    client = relationship("Client")
    plan = relationship("Plan")


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # A manual payment needs a second person: the approver is never the one who recorded it.
        CheckConstraint(
            "approved_by_id IS NULL OR created_by_id IS NULL OR approved_by_id <> created_by_id",
            name="approver_differs",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    gateway: Mapped[PaymentGatewayKind] = mapped_column(str_enum(PaymentGatewayKind, "payment_gateway"))
    method: Mapped[str] = mapped_column(String(20))  # card, boleto, manual
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    amount_cents: Mapped[int]
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus, "payment_status"))
    failure_code: Mapped[str | None] = mapped_column(String(80))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))
    #: Manual payments: the day the money arrived (business time zone), as finance read it on the statement.
    received_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    invoice = relationship("Invoice", back_populates="payments")
    created_by = relationship("User", foreign_keys=[created_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])


class Refund(TimestampMixin, db.Model):
    """Money given back on a paid invoice; the invoice itself stays as it was."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    amount_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(30), default="succeeded")
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    invoice = relationship("Invoice", back_populates="refunds")
    payment = relationship("Payment")


class Boleto(TimestampMixin, db.Model):
    __tablename__ = "boletos"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    payment_intent_id: Mapped[str] = mapped_column(String(120), unique=True)
    amount_cents: Mapped[int]
    number: Mapped[str] = mapped_column(String(80))  # linha digitável
    pdf_url: Mapped[str | None] = mapped_column(String(500))
    hosted_url: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    invoice = relationship("Invoice", back_populates="boletos")

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class BillingProfile(TimestampMixin, db.Model):
    """How a payer pays: method, its Stripe customer and the saved card's public facts."""

    __tablename__ = "billing_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    payer_key: Mapped[str] = mapped_column(String(40), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    method: Mapped[PaymentMethod] = mapped_column(
        str_enum(PaymentMethod, "payment_method"), default=PaymentMethod.BOLETO
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(120))
    card_payment_method_id: Mapped[str | None] = mapped_column(String(120))
    card_brand: Mapped[str | None] = mapped_column(String(30))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_exp_month: Mapped[int | None]
    card_exp_year: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def has_card(self) -> bool:
        return bool(self.card_payment_method_id)


class WebhookEvent(db.Model):
    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[WebhookStatus] = mapped_column(
        str_enum(WebhookStatus, "webhook_status"), default=WebhookStatus.RECEIVED
    )
    error: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    invoice = relationship("Invoice")


class InvoiceNotice(db.Model):
    """A dunning step done for an invoice (issued notice, each reminder, the block): once each."""

    __tablename__ = "invoice_notices"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- paid and void invoices are frozen: a guard below the services, for any code path -------------

FROZEN = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID})


def _loaded_status(invoice: Invoice):
    """The status the invoice had when loaded (before any change in this flush)."""
    history = inspect(invoice).attrs.status.history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else None


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_frozen_invoices(session, flush_context, instances):
    from billing.errors import InvoiceImmutable

    with session.no_autoflush:
        for obj in session.dirty:
            if (isinstance(obj, Invoice) and _loaded_status(obj) in FROZEN
                    and session.is_modified(obj, include_collections=False)):
                raise InvoiceImmutable()
        for obj in session.deleted:
            if isinstance(obj, Invoice) and _loaded_status(obj) in FROZEN:
                raise InvoiceImmutable()
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, InvoiceLine):
                invoice = obj.invoice or (session.get(Invoice, obj.invoice_id) if obj.invoice_id else None)
                if invoice is not None and not inspect(invoice).pending and _loaded_status(invoice) in FROZEN:
                    raise InvoiceImmutable()


# -- the partner credit ledger ---------------------------------------------------------------------


class CreditKind(enum.StrEnum):
    """Why a ledger row exists. Credits are positive, debits negative."""

    ORDER = "order"  # an order paid from the balance or charged to the next invoice (debit)
    ORDER_CANCELLED = "order_cancelled"  # the amount of a cancelled order given back (credit)
    CARD_PAYMENT = "card_payment"  # money received from the card on file for an order (credit)
    INVOICE_APPLIED = "invoice_applied"  # the balance used as a credit line of an invoice (debit)
    INVOICE_CHARGED = "invoice_charged"  # a negative balance charged on an invoice (credit)
    ADJUSTMENT = "adjustment"  # staff correction (either sign)


#: The ledger kinds that happen at most once per reference (a cancelled order credited back once).
ONCE_PER_REFERENCE = "kind IN ('order_cancelled', 'invoice_applied', 'invoice_charged')"


class PartnerCreditEntry(db.Model):
    """One credit (+) or debit (−) of a partner's balance. Rows are never updated or deleted: a
    correction is another row, and the balance is always ``SUM(amount_cents)``.

    ``reference`` names what caused the row (``order:12``, ``invoice:34``); a cancelled order is
    credited back once: ``UNIQUE (kind, reference)`` for the kinds that happen once per reference."""

    __tablename__ = "partner_credit_entries"
    __table_args__ = (
        # only a settlement row may be 0: it marks where the next invoice starts reading the ledger
        CheckConstraint("amount_cents <> 0 OR kind IN ('invoice_applied', 'invoice_charged')", name="amount_not_zero"),
        Index("ix_partner_credit_entries_partner", "partner_id", "id"),
        Index("uq_partner_credit_entries_once", "kind", "reference", unique=True,
              postgresql_where=text(ONCE_PER_REFERENCE), sqlite_where=text(ONCE_PER_REFERENCE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    amount_cents: Mapped[int]
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind, "credit_kind"))
    reference: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    partner = relationship("Partner")


@event.listens_for(Session, "before_flush")
def _ledger_rows_are_never_edited(session, flush_context, instances):
    from billing.errors import LedgerImmutable

    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, PartnerCreditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise LedgerImmutable()
