"""Stripe webhooks: verify, store, dispatch, record.

1. The signature is checked first (``WebhookRejected`` → 400, nothing stored).
2. Every event is stored by its Stripe id (unique), so a repeated delivery is a no-op.
3. The handler acts, and the event keeps its outcome: processed, ignored (a type we do not use, or
   a card charge for the partner's credit ledger, recorded when charged) or failed (with the error:
   e.g. an invoice we cannot find).

Dates: a signature older than the gateway's tolerance (5 minutes, Stripe's own check) is a replay
and one dated more than ``MAX_CLOCK_SKEW`` ahead is refused too (400, nothing stored); an event
whose ``created`` lies more than ``MAX_CLOCK_SKEW`` in the future is refused the same way. An old
``created`` is normal: Stripe retries an event for up to three days, signing each attempt afresh.

Money: a payment marks its invoice paid only when its amount and currency are exactly the
invoice's (BRL, ``total_cents``). Otherwise the event is kept as ``failed`` with the difference in
``error``, an audit row ``payment.mismatch`` points finance at the invoice, and the answer is 200:
Stripe retries any other answer for days, and a retry cannot change the amount. Finance reviews
it in the staff admin (webhook events, status "Falhou"; Auditoria).
"""

from __future__ import annotations

import logging
import time

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import gateway as gw
from billing import services
from billing.models import (
    PAYABLE,
    Boleto,
    Invoice,
    Payment,
    PaymentGatewayKind,
    PaymentStatus,
    Refund,
    WebhookEvent,
    WebhookStatus,
)
from core import audit
from core.db import db, utcnow

log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """Bad signature or payload, or webhooks not configured: answer 400."""


class HandlerFailure(Exception):
    """The event is valid but cannot be applied (kept as ``failed`` with this message)."""


class PaymentMismatch(HandlerFailure):
    """A payment whose amount or currency is not the invoice's: never marks it paid."""

    def __init__(self, invoice: Invoice, message: str, details: dict):
        super().__init__(message)
        self.invoice, self.details = invoice, details


#: How far ahead of our clock a signature or an event may be dated (seconds).
MAX_CLOCK_SKEW = 300
#: The one currency invoices are issued in.
INVOICE_CURRENCY = "brl"


def receive_stripe_event(payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verify and store the event, then apply it. Returns (event row, was it new)."""
    gateway = services.get_gateway()
    try:
        event = gateway.parse_webhook(payload, signature or "")
    except (gw.WebhookSignatureError, gw.GatewayUnavailable) as exc:
        raise WebhookRejected(str(exc)) from exc
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise WebhookRejected("evento sem id ou tipo")
    created = event.get("created")
    if isinstance(created, int | float) and created > time.time() + MAX_CLOCK_SKEW:
        raise WebhookRejected("evento com data no futuro")
    existing = db.session.scalar(select(WebhookEvent).where(WebhookEvent.stripe_event_id == event_id))
    if existing is not None:
        return existing, False
    row = WebhookEvent(stripe_event_id=event_id[:120], type=event_type[:80], payload=event)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same event delivered twice at the same moment
        return db.session.scalar(select(WebhookEvent).where(WebhookEvent.stripe_event_id == event_id)), False
    _dispatch(row, event)
    return row, True


def _credit_charge(event: dict) -> bool:
    """A PaymentIntent charged for the partner's credit ledger (services.charge_card_to_credit): its
    outcome was recorded when it was charged (the ledger's card row, or the refused order), no invoice
    to find."""
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(obj, dict) or obj.get("object") != "payment_intent":
        return False
    ref = (obj.get("metadata") or {}).get("invoice_ref") if isinstance(obj.get("metadata"), dict) else None
    return isinstance(ref, str) and ref.startswith(services.CREDIT_CHARGE_PREFIX)


def _dispatch(row: WebhookEvent, event: dict) -> None:
    handler = HANDLERS.get(row.type)
    if handler is None or _credit_charge(event):
        row.status = WebhookStatus.IGNORED
    else:
        try:
            with db.session.begin_nested():
                row.invoice_id = handler(_object(event))
            row.status = WebhookStatus.PROCESSED
        except HandlerFailure as exc:
            row.status = WebhookStatus.FAILED
            row.error = str(exc)[:2000]
            log.warning("stripe webhook %s (%s) failed: %s", row.stripe_event_id, row.type, exc)
            if isinstance(exc, PaymentMismatch):
                invoice = exc.invoice
                row.invoice_id = invoice.id
                audit.record("payment.mismatch", invoice, partner_id=invoice.partner_id, client_id=invoice.client_id,
                             after={"invoice": invoice.number, **exc.details})  # the event: the webhook row
    row.processed_at = utcnow()
    db.session.flush()


def _object(event: dict) -> dict:
    data = event.get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise HandlerFailure("evento sem data.object")
    return obj


def _id(value) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def _invoice_for_intent(intent: dict) -> Invoice:
    """The invoice a PaymentIntent pays: by our payment or boleto record, else by its metadata."""
    pi_id = intent.get("id")
    invoice_id = db.session.scalar(
        select(Payment.invoice_id).where(Payment.reference == pi_id, Payment.gateway == PaymentGatewayKind.STRIPE)
    ) or db.session.scalar(select(Boleto.invoice_id).where(Boleto.payment_intent_id == pi_id))
    if invoice_id is None:
        number = ((intent.get("metadata") or {}).get("invoice_ref") or "").strip()
        invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.number == number)) if number else None
    invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
    if invoice is None:
        raise HandlerFailure(f"fatura não encontrada para {pi_id}")
    return invoice


def _cents(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _payment_for(invoice: Invoice, intent: dict) -> Payment:
    payment = db.session.scalar(
        select(Payment).where(Payment.reference == intent.get("id"), Payment.gateway == PaymentGatewayKind.STRIPE)
    )
    if payment is None:
        types = intent.get("payment_method_types") or ["card"]
        payment = Payment(invoice_id=invoice.id, gateway=PaymentGatewayKind.STRIPE, method=str(types[0])[:20],
                          reference=intent.get("id"), amount_cents=_cents(intent.get("amount"), invoice.total_cents),
                          status=PaymentStatus.PROCESSING)
        db.session.add(payment)
    return payment


def on_payment_succeeded(intent: dict) -> int:
    invoice = _invoice_for_intent(intent)
    payment = _payment_for(invoice, intent)
    known = payment.id is not None and payment.status == PaymentStatus.SUCCEEDED
    payment.status = PaymentStatus.SUCCEEDED
    db.session.flush()
    if invoice.status in PAYABLE:
        _check_amount_and_currency(invoice, intent)
        services.mark_paid(invoice)
    elif not known:
        # Money for a void invoice, or a second payment of a paid one: keep the payment and tell
        # finance (audit log), who refunds it.
        audit.record("payment.unexpected", payment, partner_id=invoice.partner_id, client_id=invoice.client_id,
                     after={"invoice": invoice.number, "status": invoice.status, "reference": payment.reference})
    return invoice.id


def _check_amount_and_currency(invoice: Invoice, intent: dict) -> None:
    """The intent pays exactly this invoice: its total, in reais; else ``PaymentMismatch``."""
    amount, currency = intent.get("amount"), intent.get("currency")
    currency = currency.lower() if isinstance(currency, str) else currency
    if isinstance(amount, int) and not isinstance(amount, bool) and amount == invoice.total_cents \
            and currency == INVOICE_CURRENCY:
        return
    details = {"amount_cents": amount if isinstance(amount, int) else str(amount)[:40],
               "currency": str(currency)[:10], "expected_cents": invoice.total_cents,
               "expected_currency": INVOICE_CURRENCY}
    raise PaymentMismatch(invoice, f"valor ou moeda divergente da fatura {invoice.number}: recebido {amount} "
                                   f"{currency}, esperado {invoice.total_cents} {INVOICE_CURRENCY}", details)


def on_payment_failed(intent: dict) -> int:
    invoice = _invoice_for_intent(intent)
    payment = _payment_for(invoice, intent)
    error = intent.get("last_payment_error") or {}
    payment.status = PaymentStatus.FAILED
    payment.failure_code = (error.get("decline_code") or error.get("code") or "")[:80] or None
    payment.failure_message = (error.get("message") or "")[:500] or None
    db.session.flush()
    audit.record("payment.failed", payment, partner_id=invoice.partner_id, client_id=invoice.client_id,
                 after={"invoice": invoice.number, "code": payment.failure_code})
    if invoice.status in PAYABLE:
        services.notify_invoice(invoice, "payment_failed", _("Pagamento não aprovado — fatura %(n)s", n=invoice.number),
                         payment=payment)
    return invoice.id


def on_charge_refunded(charge: dict) -> int:
    """Record each refund of the charge once (by its Stripe id); the invoice is not touched."""
    pi_id = _id(charge.get("payment_intent"))
    invoice = _invoice_for_intent({"id": pi_id, "metadata": charge.get("metadata") or {}})
    payment = db.session.scalar(select(Payment).where(Payment.reference == pi_id))
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    if not refunds and charge.get("amount_refunded"):
        refunds = [{"id": None, "amount": charge["amount_refunded"]}]
    for item in refunds:
        refund_id = item.get("id")
        if refund_id and db.session.scalar(select(Refund.id).where(Refund.stripe_refund_id == refund_id)):
            continue
        already = sum(r.amount_cents for r in invoice.refunds) if refund_id is None else 0
        amount = int(item.get("amount") or 0) - already
        if amount <= 0:
            continue
        try:
            services.record_refund(invoice, amount, payment=payment, stripe_refund_id=refund_id,
                                   reason=item.get("reason") or "stripe")
        except services.ValidationError as exc:
            raise HandlerFailure(f"reembolso inválido: {exc.fields}") from exc
        except services.BillingError as exc:
            raise HandlerFailure(exc.message) from exc
    return invoice.id


HANDLERS = {
    "payment_intent.succeeded": on_payment_succeeded,
    "payment_intent.payment_failed": on_payment_failed,
    "charge.refunded": on_charge_refunded,
}
