"""Billing rules: the invoice state machine, payments (Stripe card and boleto, manual payments
approved by a second finance user), refunds, the payer's billing profile, and who may see what.

Services flush and never commit (the request or the task commits); the monthly run in
``billing.run`` is the one exception, documented there."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, select, update

from billing import gateway as gw
from billing.errors import (
    BillingError,
    InvalidTransition,
    InvoiceImmutable,
    MissingBillingData,
    NotPayable,
    PaymentAlreadyPending,
    PaymentNotPending,
    PaymentsUnavailable,
    SameApprover,
)
from billing.issuer import issuer
from billing.models import (
    PAYABLE,
    TRANSITIONS,
    BillingProfile,
    Boleto,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineKind,
    Payment,
    PaymentGatewayKind,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from billing.run import (  # noqa: F401 - re-exported: the run is part of the billing services
    Month,
    billable_segments,
    ensure_sequence,
    format_number,
    local_today,
    lock_sequence,
    run_monthly_billing,
)
from billing.signals import invoice_paid
from contracts import services as contract_services
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import INVOICES_REVIEW, has_permission
from core.security import parse_id
from core.urls import public_base
from core.validators import ValidationError
from partner.models import Client, ContractStatus, Partner, Payer

log = logging.getLogger(__name__)

INVOICE_FIELDS = ("number", "status", "total_cents", "due_date", "paid_at", "void_reason")


# -- gateway ----------------------------------------------------------------------------------------


def get_gateway() -> gw.StripeGateway | gw.ManualGateway:
    """The payment gateway chosen by configuration: Stripe when ``STRIPE_SECRET_KEY`` is set,
    else the manual one (finance records payments). One instance per app and configuration."""
    cfg = current_app.config
    key = cfg.get("STRIPE_SECRET_KEY") or ""
    signature = (key, cfg.get("STRIPE_WEBHOOK_SECRET") or "", cfg.get("STRIPE_API_BASE") or None)
    cache = current_app.extensions.setdefault("billing_gateway", {})
    if signature not in cache:
        for old in cache.values():
            old.close()
        cache.clear()
        if key:
            if not signature[1]:
                raise RuntimeError("STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set")
            cache[signature] = gw.StripeGateway(key, signature[1], signature[2])
        else:
            cache[signature] = gw.ManualGateway()
    return cache[signature]


def online_payments_enabled() -> bool:
    return isinstance(get_gateway(), gw.StripeGateway)


def payment_instructions() -> str:
    """``BILLING_PAYMENT_INSTRUCTIONS``: bank transfer / PIX details for the manual gateway ("" if unset)."""
    return (current_app.config.get("BILLING_PAYMENT_INSTRUCTIONS") or "").strip().rstrip(".")


def how_to_pay(invoice: Invoice | None = None) -> str:
    """Without online payments, how to pay, in one plain sentence: the configured transfer / PIX
    details and where to send the receipt, or else whom to contact. Never a boleto or card."""
    email, details = issuer()["email"], payment_instructions()
    if invoice is None:
        if details:
            return _("Pague suas faturas por transferência ou PIX: %(details)s. Envie o comprovante para %(email)s "
                     "informando o número da fatura.", details=details, email=email)
        return _("Para pagar suas faturas, entre em contato com o financeiro: %(email)s.", email=email)
    if details:
        return _("Pague por transferência ou PIX: %(details)s. Depois, envie o comprovante para %(email)s informando "
                 "o número da fatura (%(number)s); o financeiro confere e registra o pagamento.",
                 details=details, email=email, number=invoice.number)
    return _("Para pagar esta fatura, entre em contato com o financeiro: %(email)s, informando o número da "
             "fatura (%(number)s).", email=email, number=invoice.number)


# -- the state machine ----------------------------------------------------------------------------


def ensure_mutable(invoice: Invoice) -> None:
    """Paid and void invoices are frozen (a refund is its own record)."""
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        raise InvoiceImmutable()


def transition(invoice: Invoice, target: InvoiceStatus | str, *, actor=None, reason: str | None = None) -> Invoice:
    """Move ``invoice`` to ``target`` if the transition table allows it (else InvalidTransition)."""
    target = InvoiceStatus(target)
    current = InvoiceStatus(invoice.status)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    now = utcnow()
    if target == InvoiceStatus.OPEN:
        _assign_number(invoice, now)
    elif target == InvoiceStatus.PAID:
        invoice.paid_at = now
    elif target == InvoiceStatus.VOID:
        invoice.voided_at = now
        invoice.void_reason = reason
    invoice.status = target
    db.session.flush()
    before, after = audit.changed(before, audit.snapshot(invoice, INVOICE_FIELDS))
    audit.record(f"invoice.{target.value}", invoice, before=before, after=after, actor=actor,
                 client_id=invoice.client_id)
    if target == InvoiceStatus.PAID:
        invoice_paid.send(invoice)
    return invoice


def next_number(year: int) -> str:
    """Hand out the next number of ``year`` under the counter's lock (no gaps: it rolls back
    with the transaction that used it)."""
    ensure_sequence(year)
    last = lock_sequence(year)
    db.session.execute(
        update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=last + 1),
        execution_options={"synchronize_session": False},
    )
    return format_number(year, last + 1)


def _assign_number(invoice: Invoice, now) -> None:
    invoice.total_cents = sum(line.amount_cents for line in invoice.lines)
    if invoice.total_cents < 0:
        raise BillingError(_("O total da fatura não pode ser negativo."))
    invoice.issued_at = now
    invoice.number = next_number(local_today().year)


def create_draft(payer: Payer | str, owner: Partner | Client, month: str, due_date: date, *, actor=None) -> Invoice:
    """An empty draft invoice for ``owner`` (a partner or a self-paying client)."""
    payer = Payer(payer)
    Month.parse(month)
    invoice = Invoice(
        payer=payer, payer_key=Invoice.key_for(payer, owner.id), month=month, due_date=due_date,
        partner_id=owner.id if payer == Payer.PARTNER else owner.partner_id,
        client_id=owner.id if payer == Payer.CLIENT else None, status=InvoiceStatus.DRAFT, total_cents=0,
    )
    db.session.add(invoice)
    db.session.flush()
    audit.record("invoice.draft", invoice, actor=actor, client_id=invoice.client_id,
                 after={"payer_key": invoice.payer_key, "month": month})
    return invoice


def add_line(invoice: Invoice, *, description: str, list_price_cents: int, discount_cents: int = 0,
             period_start: date, period_end: date, client_id: int | None = None, plan_id: int | None = None,
             kind: LineKind = LineKind.CHARGE) -> InvoiceLine:
    """Add a line to a draft; an issued invoice only changes through its status."""
    ensure_mutable(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceImmutable(_("Só é possível alterar linhas de uma fatura em rascunho."))
    line = InvoiceLine(
        invoice=invoice, description=description, list_price_cents=list_price_cents,
        discount_cents=discount_cents, amount_cents=list_price_cents - discount_cents,
        period_start=period_start, period_end=period_end, client_id=client_id, plan_id=plan_id, kind=kind,
    )
    db.session.add(line)
    invoice.total_cents = sum(item.amount_cents for item in invoice.lines)
    db.session.flush()
    return line


def finalize_invoice(invoice: Invoice, *, actor=None) -> Invoice:
    """draft → open: the total is fixed, the year's next number assigned and the invoice e-mail
    queued in the same transaction (it leaves when this commits)."""
    from billing.signals import invoices_issued

    transition(invoice, InvoiceStatus.OPEN, actor=actor)
    if invoice.total_cents > 0:
        invoices_issued.send(None, invoice_ids=[invoice.id])
    return invoice


def void_invoice(invoice: Invoice, reason: str, *, actor=None) -> Invoice:
    """Cancel an unpaid invoice, with the reason (kept on the invoice and in the audit log)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Informe o motivo do cancelamento.")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("Motivo: máximo de 500 caracteres.")})
    ensure_mutable(invoice)
    return transition(invoice, InvoiceStatus.VOID, actor=actor, reason=reason)


def mark_uncollectible(invoice: Invoice, *, actor=None) -> Invoice:
    return transition(invoice, InvoiceStatus.UNCOLLECTIBLE, actor=actor)


def mark_paid(invoice: Invoice, *, actor=None, notify: bool = True) -> Invoice:
    """The invoice is paid: freeze it, lift non-payment blocks it caused, send the receipt."""
    if invoice.status not in PAYABLE:
        raise NotPayable()
    transition(invoice, InvoiceStatus.PAID, actor=actor)
    unblock_covered_clients(invoice, actor=actor)
    if notify:
        notify_invoice(invoice, "invoice_paid", _("Pagamento confirmado — fatura %(n)s", n=invoice.number))
    return invoice


# -- who sees what -----------------------------------------------------------------------------------


def invoices_visible_to(user):
    """Invoices ``user`` may open in the panel: a manager its partner's consolidated invoices, a
    client user its company's own invoices; nobody else (staff use the admin)."""
    from core.permissions import Role

    query = select(Invoice).where(Invoice.status != InvoiceStatus.DRAFT)
    if user.role == Role.MANAGER and user.partner_id:
        return query.where(Invoice.payer_key == Invoice.key_for(Payer.PARTNER, user.partner_id))
    if user.role == Role.CLIENT and user.client_id:
        return query.where(Invoice.payer_key == Invoice.key_for(Payer.CLIENT, user.client_id))
    return query.where(False)


def get_invoice_for(user, invoice_id) -> Invoice | None:
    invoice_id = parse_id(invoice_id)
    if invoice_id is None:
        return None
    return db.session.scalar(invoices_visible_to(user).where(Invoice.id == invoice_id))


def partner_api_invoices(partner_id: int):
    """What the partner API lists: the partner's consolidated invoices and those of its
    self-paying clients (both carry the partner's id); never drafts."""
    return select(Invoice).where(Invoice.partner_id == partner_id, Invoice.status != InvoiceStatus.DRAFT)


def display_status(invoice: Invoice, today: date | None = None) -> str:
    """paid / pending / overdue / void / uncollectible / draft, as people read it."""
    today = today or local_today()
    if invoice.status == InvoiceStatus.OPEN:
        return "overdue" if invoice.due_date < today else "pending"
    return InvoiceStatus(invoice.status).value


def payer_of(invoice: Invoice) -> Partner | Client:
    return invoice.partner if invoice.payer == Payer.PARTNER else invoice.client


def covered_client_ids(invoice: Invoice) -> list[int]:
    return list(db.session.scalars(
        select(InvoiceLine.client_id).where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.client_id.is_not(None))
        .distinct().order_by(InvoiceLine.client_id)
    ))


def partner_pays_for_clients(partner: Partner) -> bool:
    """Whether the partner is the payer of at least one client that is not cancelled."""
    return bool(db.session.scalar(select(exists().where(
        Client.partner_id == partner.id, Client.payer == Payer.PARTNER, Client.status != ContractStatus.CANCELLED,
    ))))


# -- billing profile and Stripe customer ----------------------------------------------------------


def profile_for(payer: Payer | str, owner: Partner | Client, *, create: bool = True) -> BillingProfile | None:
    key = Invoice.key_for(payer, owner.id)
    profile = db.session.scalar(select(BillingProfile).where(BillingProfile.payer_key == key))
    if profile is None and create:
        profile = BillingProfile(
            payer_key=key, method=PaymentMethod.BOLETO,
            partner_id=owner.id if Payer(payer) == Payer.PARTNER else owner.partner_id,
            client_id=owner.id if Payer(payer) == Payer.CLIENT else None,
        )
        db.session.add(profile)
        db.session.flush()
    return profile


def set_payment_method(partner: Partner, method: str, *, actor=None) -> BillingProfile:
    """Boleto or card for the partner's invoices (only with online payments: without them there is
    no method to choose, and a boleto would never exist)."""
    if not online_payments_enabled():
        raise ValidationError({"method": _("Pagamentos online não configurados: não há forma de pagamento a "
                                           "escolher. %(how)s", how=how_to_pay())})
    try:
        method = PaymentMethod((method or "").strip())
    except ValueError:
        raise ValidationError({"method": _("Escolha boleto bancário ou cartão de crédito.")}) from None
    profile = profile_for(Payer.PARTNER, partner)
    before = {"method": profile.method}
    profile.method = method
    db.session.flush()
    audit.record("billing.payment_method", profile, actor=actor, partner_id=partner.id,
                 before=before, after={"method": method})
    return profile


def _address(owner) -> dict:
    line1 = ", ".join(part for part in (owner.street, owner.number) if part)
    return {
        "line1": line1 or None, "line2": " - ".join(p for p in (owner.complement, owner.district) if p) or None,
        "city": owner.city or None, "state": owner.state or None,
        "postal_code": f"{owner.cep[:5]}-{owner.cep[5:]}" if owner.cep and len(owner.cep) == 8 else owner.cep or None,
        "country": "BR",
    }


def ensure_customer(payer: Payer | str, owner: Partner | Client) -> BillingProfile:
    """The payer's profile with its gateway customer (created at the provider once)."""
    profile = profile_for(payer, owner)
    if not profile.stripe_customer_id or not online_payments_enabled():
        customer_id = _call(lambda g: g.ensure_customer(
            profile.payer_key, owner.legal_name, owner.email, owner.cnpj, _address(owner)))
        if online_payments_enabled():
            profile.stripe_customer_id = customer_id
            db.session.flush()
    return profile


# gateway.py is Flask-free, so its messages are fixed Portuguese: people read these instead.
_PROVIDER_FAILURE = re.compile(r"Falha no provedor de pagamentos \((?P<detail>.+)\)\.")


def gateway_message(error: Exception | str) -> str:
    """A gateway message in the reader's language (technical details kept as they are)."""
    text = str(error)
    if text == gw.MANUAL_PAYMENTS_MESSAGE:
        return _("Pagamentos online não configurados; o financeiro registra o pagamento manualmente.")
    if text == "Não foi possível contatar o provedor de pagamentos.":
        return _("Não foi possível contatar o provedor de pagamentos.")
    if text == "O cliente não tem cartão cadastrado.":
        return _("O cliente não tem cartão cadastrado.")
    found = _PROVIDER_FAILURE.fullmatch(text)
    if found is not None:
        return _("Falha no provedor de pagamentos (%(detail)s).", detail=found["detail"])
    return text


def _unavailable(error: Exception | str) -> PaymentsUnavailable:
    return PaymentsUnavailable(gateway_message(error))


def _call(operation):
    """Run a gateway call, turning provider failures into a BillingError people can read."""
    gateway = get_gateway()
    try:
        return operation(gateway)
    except gw.GatewayUnavailable as exc:
        raise _unavailable(exc) from exc
    except gw.GatewayError as exc:
        raise _unavailable(exc) from exc


def start_card_setup(partner: Partner) -> dict:
    """A SetupIntent for Stripe Elements: the card goes from the browser to Stripe, never here."""
    if not online_payments_enabled():
        raise _unavailable(gw.MANUAL_PAYMENTS_MESSAGE)
    profile = ensure_customer(Payer.PARTNER, partner)
    key = f"revenda-setup-{profile.payer_key}-{utcnow():%Y%m%d%H%M%S%f}"
    return _call(lambda g: g.create_setup_intent(profile.stripe_customer_id, idempotency_key=key))


def save_card(partner: Partner, payment_method_id: str, *, actor=None) -> BillingProfile:
    """Attach the card Stripe.js confirmed (``pm_…``) and make card the payment method."""
    payment_method_id = (payment_method_id or "").strip()
    if not payment_method_id.startswith("pm_") or len(payment_method_id) > 120:
        raise ValidationError({"payment_method_id": _("Cartão inválido. Preencha os dados do cartão novamente.")})
    if not online_payments_enabled():
        raise _unavailable(gw.MANUAL_PAYMENTS_MESSAGE)
    profile = ensure_customer(Payer.PARTNER, partner)
    key = f"revenda-card-{profile.payer_key}-{payment_method_id}"
    try:
        card = get_gateway().attach_card(profile.stripe_customer_id, payment_method_id, idempotency_key=key)
    except gw.CardDeclined:
        raise ValidationError({"payment_method_id": _("Cartão recusado. Tente outro cartão.")}) from None
    except gw.GatewayError as exc:
        raise _unavailable(exc) from exc
    profile.card_payment_method_id = card["id"]
    profile.card_brand = card.get("brand")
    profile.card_last4 = card.get("last4")
    profile.card_exp_month = card.get("exp_month")
    profile.card_exp_year = card.get("exp_year")
    profile.method = PaymentMethod.CARD
    db.session.flush()
    audit.record("billing.card_saved", profile, actor=actor, partner_id=partner.id,
                 after={"brand": profile.card_brand, "last4": profile.card_last4})
    return profile


# -- paying ---------------------------------------------------------------------------------------------


def _ensure_payable(invoice: Invoice) -> None:
    if invoice.status not in PAYABLE or invoice.total_cents <= 0:
        raise NotPayable()


def pay_with_card(invoice: Invoice, *, actor=None) -> Payment:
    """Charge the payer's saved card off-session. A decline is recorded (and returned with status
    ``failed``) rather than raised, so the attempt stays in the history."""
    _ensure_payable(invoice)
    if not online_payments_enabled():
        raise _unavailable(gw.MANUAL_PAYMENTS_MESSAGE)
    profile = ensure_customer(invoice.payer, payer_of(invoice))
    if not profile.has_card:
        raise MissingBillingData(_("Cadastre um cartão de crédito em Meus dados → Pagamento."))
    attempt = 1 + db.session.scalar(
        select(func.count(Payment.id)).where(Payment.invoice_id == invoice.id, Payment.method == "card")
    )
    payment = Payment(invoice_id=invoice.id, gateway=PaymentGatewayKind.STRIPE, method="card",
                      amount_cents=invoice.total_cents, status=PaymentStatus.PROCESSING,
                      created_by_id=getattr(actor, "id", None))
    db.session.add(payment)
    try:
        result = get_gateway().charge_card(profile.stripe_customer_id, invoice.total_cents, invoice.number,
                                           f"revenda-invoice-{invoice.id}-card-{attempt}")
    except gw.CardDeclined as exc:
        payment.status = PaymentStatus.FAILED
        payment.reference = exc.payment_intent_id
        payment.failure_code = exc.code or exc.decline_code
        payment.failure_message = str(exc)
        db.session.flush()
        audit.record("payment.failed", payment, actor=actor, partner_id=invoice.partner_id,
                     after={"invoice": invoice.number, "code": payment.failure_code})
        return payment
    except gw.GatewayError as exc:
        raise _unavailable(exc) from exc
    payment.reference = result.payment_intent_id
    payment.status = PaymentStatus.SUCCEEDED if result.succeeded else PaymentStatus.PROCESSING
    db.session.flush()
    audit.record("payment.card", payment, actor=actor, partner_id=invoice.partner_id,
                 after={"invoice": invoice.number, "status": payment.status, "reference": payment.reference})
    if result.succeeded:
        mark_paid(invoice, actor=actor)
    return payment


def current_boleto(invoice: Invoice, now=None) -> Boleto | None:
    """The newest boleto of the invoice that has not expired."""
    now = now or utcnow()
    boleto = db.session.scalar(
        select(Boleto).where(Boleto.invoice_id == invoice.id).order_by(Boleto.id.desc()).limit(1)
    )
    return boleto if boleto is not None and not boleto.is_expired(now) else None


def generate_boleto(invoice: Invoice, *, actor=None) -> Boleto:
    """"Gerar boleto": the current one while valid, a new one after it expires."""
    _ensure_payable(invoice)
    existing = current_boleto(invoice)
    if existing is not None:
        return existing
    if not online_payments_enabled():
        raise _unavailable(gw.MANUAL_PAYMENTS_MESSAGE)
    owner = payer_of(invoice)
    missing = [label for value, label in ((owner.cnpj, "CNPJ"), (owner.email, "e-mail"), (owner.cep, _("CEP")),
                                          (owner.street, _("endereço")), (owner.city, _("cidade")),
                                          (owner.state, _("UF")))
               if not value]
    if missing:
        raise MissingBillingData(_("Complete os dados do pagador para gerar o boleto: %(f)s.", f=", ".join(missing)))
    profile = ensure_customer(invoice.payer, owner)
    attempt = 1 + db.session.scalar(select(func.count(Boleto.id)).where(Boleto.invoice_id == invoice.id))
    details = {"name": owner.legal_name, "email": owner.email, "tax_id": owner.cnpj, "address": _address(owner)}
    result = _call(lambda g: g.create_boleto(profile.stripe_customer_id, invoice.total_cents, invoice.number,
                                             details, f"revenda-invoice-{invoice.id}-boleto-{attempt}"))
    return record_boleto(invoice, result, actor=actor)


def record_boleto(invoice: Invoice, result: gw.BoletoResult, *, actor=None) -> Boleto:
    boleto = Boleto(invoice_id=invoice.id, payment_intent_id=result.payment_intent_id,
                    amount_cents=result.amount_cents, number=result.number, pdf_url=result.pdf_url,
                    hosted_url=result.hosted_voucher_url, expires_at=result.expires_at)
    db.session.add(boleto)
    db.session.flush()
    audit.record("boleto.created", boleto, actor=actor, partner_id=invoice.partner_id, client_id=invoice.client_id,
                 after={"invoice": invoice.number, "payment_intent": result.payment_intent_id,
                        "expires_at": result.expires_at})
    return boleto


# -- manual payments: recorded by one finance user, approved by another ----------------------------


_AMOUNT = re.compile(r"\d{1,3}(\.\d{3})*(,\d{1,2})?|\d+([,.]\d{1,2})?")


def parse_amount_cents(text) -> int | None:
    """"1.234,56", "1234,56", "1234.56", "R$ 1.234,56" or "1234" in centavos; None if unreadable."""
    text = re.sub(r"\s|R\$", "", str(text or ""))
    if not _AMOUNT.fullmatch(text):
        return None
    if "," in text:
        whole, _sep, cents = text.replace(".", "").partition(",")
    elif re.fullmatch(r"\d+\.\d{1,2}", text):
        whole, _sep, cents = text.partition(".")
    else:
        whole, cents = text.replace(".", ""), ""
    return int(whole) * 100 + int((cents + "00")[:2])


def parse_day(text) -> date | None:
    """"AAAA-MM-DD" (a date input) or "DD/MM/AAAA" (typed); None if unreadable."""
    text = str(text or "").strip()
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if found:
        year, month, day = found.groups()
    else:
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not found:
            return None
        day, month, year = found.groups()
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _manual_amount(invoice: Invoice, amount, errors: dict) -> int | None:
    if amount is None:
        return invoice.total_cents
    cents = amount if isinstance(amount, int) else parse_amount_cents(amount)
    if isinstance(amount, str) and not amount.strip():
        errors["amount"] = _("Informe o valor recebido.")
    elif cents is None:
        errors["amount"] = _("Valor recebido inválido: use o formato 1.234,56.")
    elif cents <= 0:
        errors["amount"] = _("O valor recebido deve ser maior que zero.")
    elif cents > 100_000_000_00:
        errors["amount"] = _("Valor recebido grande demais.")
    return cents


def _manual_received_on(received_on, errors: dict) -> date | None:
    today = local_today()
    if received_on is None:
        return today
    day = received_on if isinstance(received_on, date) else parse_day(received_on)
    if isinstance(received_on, str) and not received_on.strip():
        errors["received_on"] = _("Informe a data em que o pagamento foi recebido.")
    elif day is None:
        errors["received_on"] = _("Data de recebimento inválida: use DD/MM/AAAA.")
    elif day > today:
        errors["received_on"] = _("A data de recebimento não pode estar no futuro.")
    elif day.year < 2000:
        errors["received_on"] = _("Data de recebimento inválida: use DD/MM/AAAA.")
    return day


def record_manual_payment(invoice: Invoice, reference: str, *, actor, note: str | None = None,
                          amount: str | int | None = None, received_on: str | date | None = None) -> Payment:
    """Finance saw the money arrive (transfer, deposit…): a pending payment that takes effect
    only when a second finance user approves it.

    ``amount`` (centavos, or the form's text "1.234,56") and ``received_on`` (a date, or the form's
    "AAAA-MM-DD" / "DD/MM/AAAA") are what the statement shows; an empty text is an error, and left
    out they default to the invoice total and today (callers other than the finance form)."""
    _ensure_payable(invoice)
    reference = (reference or "").strip()
    errors = {}
    if not reference:
        errors["reference"] = _("Informe a referência do pagamento (comprovante, ID da transferência…).")
    elif len(reference) > 120:
        errors["reference"] = _("Referência: máximo de 120 caracteres.")
    amount_cents = _manual_amount(invoice, amount, errors)
    day = _manual_received_on(received_on, errors)
    if note and len(note) > 500:
        errors["note"] = _("Observação: máximo de 500 caracteres.")
    if errors:
        raise ValidationError(errors)
    pending = db.session.scalar(select(exists().where(
        Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.PENDING_APPROVAL)))
    if pending:
        raise PaymentAlreadyPending()
    payment = Payment(invoice_id=invoice.id, gateway=PaymentGatewayKind.MANUAL, method="manual",
                      reference=reference, amount_cents=amount_cents, received_on=day,
                      note=(note or "").strip() or None,
                      status=PaymentStatus.PENDING_APPROVAL, created_by_id=actor.id)
    db.session.add(payment)
    db.session.flush()
    audit.record("payment.manual_recorded", payment, actor=actor, partner_id=invoice.partner_id,
                 client_id=invoice.client_id, after={"invoice": invoice.number, "reference": reference,
                                                     "amount_cents": amount_cents, "received_on": day.isoformat()})
    return payment


def _check_reviewer(payment: Payment, actor) -> None:
    if payment.status != PaymentStatus.PENDING_APPROVAL:
        raise PaymentNotPending()
    if actor is None or not has_permission(actor, INVOICES_REVIEW):
        raise BillingError(_("Somente o financeiro pode aprovar pagamentos."))
    if actor.id == payment.created_by_id:
        raise SameApprover()


def approve_manual_payment(payment: Payment, *, actor) -> Payment:
    """The second finance user confirms: the payment succeeds and the invoice is paid."""
    _check_reviewer(payment, actor)
    invoice = payment.invoice
    if invoice.status not in PAYABLE:
        raise NotPayable()
    payment.status = PaymentStatus.SUCCEEDED
    payment.approved_by_id = actor.id
    payment.decided_at = utcnow()
    db.session.flush()
    audit.record("payment.manual_approved", payment, actor=actor, partner_id=invoice.partner_id,
                 client_id=invoice.client_id, after={"invoice": invoice.number, "reference": payment.reference})
    mark_paid(invoice, actor=actor)
    return payment


def reject_manual_payment(payment: Payment, *, actor, reason: str = "") -> Payment:
    _check_reviewer(payment, actor)
    payment.status = PaymentStatus.REJECTED
    payment.approved_by_id = actor.id
    payment.decided_at = utcnow()
    payment.failure_message = (reason or "").strip()[:500] or None
    db.session.flush()
    audit.record("payment.manual_rejected", payment, actor=actor, partner_id=payment.invoice.partner_id,
                 after={"invoice": payment.invoice.number, "reason": payment.failure_message})
    return payment


# -- refunds ----------------------------------------------------------------------------------------


def record_refund(invoice: Invoice, amount_cents: int, *, payment: Payment | None = None,
                  stripe_refund_id: str | None = None, reason: str | None = None, actor=None) -> Refund:
    """A refund is its own record: the paid invoice stays exactly as it was."""
    if invoice.status != InvoiceStatus.PAID:
        raise NotPayable(_("Só faturas pagas podem ser reembolsadas."))
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError({"amount_cents": _("Informe um valor positivo.")})
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(Refund.invoice_id == invoice.id)
    )
    if refunded + amount_cents > invoice.total_cents:
        raise ValidationError({"amount_cents": _("O reembolso ultrapassa o valor pago.")})
    refund = Refund(invoice_id=invoice.id, payment_id=getattr(payment, "id", None), amount_cents=amount_cents,
                    stripe_refund_id=stripe_refund_id, reason=reason, created_by_id=getattr(actor, "id", None))
    db.session.add(refund)
    db.session.flush()
    audit.record("invoice.refund", refund, actor=actor, partner_id=invoice.partner_id, client_id=invoice.client_id,
                 after={"invoice": invoice.number, "amount_cents": amount_cents, "stripe_refund_id": stripe_refund_id})
    return refund


# -- contracts: blocks for non-payment -------------------------------------------------------------


def block_after_days() -> int:
    return int(current_app.config.get("BILLING_BLOCK_AFTER_DAYS", 15))


def block_limit_date(today: date) -> date:
    """Invoices due on or before this date are overdue long enough to block."""
    return today - timedelta(days=block_after_days())


def unblock_covered_clients(invoice: Invoice, *, actor=None) -> list[int]:
    """After a payment: lift the non-payment blocks of the clients this invoice covers, unless
    another invoice of theirs is still overdue past the block limit. Manual blocks stay."""
    limit = block_limit_date(local_today())
    unblocked = []
    for client_id in covered_client_ids(invoice):
        client = db.session.get(Client, client_id)
        if client is None or client.status != ContractStatus.BLOCKED:
            continue
        still_overdue = db.session.scalar(select(exists().where(
            InvoiceLine.client_id == client_id, InvoiceLine.invoice_id == Invoice.id, Invoice.id != invoice.id,
            Invoice.status == InvoiceStatus.OPEN, Invoice.due_date <= limit,
        )))
        if still_overdue:
            continue
        if contract_services.unblock_after_payment(client):
            unblocked.append(client_id)
    return unblocked


def has_payment_method(client: Client) -> bool:
    """Whether whoever pays for ``client`` has a payment method on file: a saved card, or boleto
    chosen explicitly (contracts asks this when a trial ends). Without online payments every payer
    pays the manual way (transfer / PIX, recorded by finance): there is nothing to choose."""
    if not online_payments_enabled():
        return True
    owner = client.partner if client.payer == Payer.PARTNER else client
    profile = profile_for(client.payer, owner, create=False)
    if profile is None:
        return False
    return profile.has_card if profile.method == PaymentMethod.CARD else True


# -- e-mail -----------------------------------------------------------------------------------------------


def invoice_recipient(invoice: Invoice) -> str | None:
    owner = payer_of(invoice)
    return getattr(owner, "email", None)


def notify_invoice(invoice: Invoice, template: str, subject: str, **context) -> None:
    """Queue the e-mail ``template`` about ``invoice`` to whoever pays it (nothing without an address)."""
    to = invoice_recipient(invoice)
    if not to:
        return
    # ``online``: the e-mails offer boleto/card only when Stripe is configured; with the manual
    # gateway they say how to pay instead (transfer, receipt to ``finance_email``).
    queue_email(to, subject, template, kind=f"billing.{template}", partner_id=invoice.partner_id,
                invoice=invoice, payer=payer_of(invoice), public_url=public_base(),
                online=online_payments_enabled(), finance_email=issuer()["email"], how_to_pay=how_to_pay(invoice),
                **context)


def resend_invoice(invoice: Invoice, *, actor=None) -> None:
    """Send the invoice e-mail again (finance's "Reenviar")."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise InvalidTransition(invoice.status, "open")
    notify_invoice(invoice, "invoice_issued", _("Fatura %(n)s — Revenda", n=invoice.number))
    audit.record("invoice.resent", invoice, actor=actor, client_id=invoice.client_id,
                 after={"to": invoice_recipient(invoice)})


#: The ``invoice_ref`` of a card charge for the partner's credit ledger (orders), not for an invoice:
#: recorded when charged, so its webhooks have nothing left to do (billing/webhooks.py).
CREDIT_CHARGE_PREFIX = "credito:"


def charge_card_to_credit(partner, amount_cents: int, reference: str, *, idempotency_key: str,
                          description: str = "", actor=None):
    """Charge the partner's card on file and credit what was received (the caller then debits the
    order): the card payment and its use stay two rows of the history; the card row names the
    PaymentIntent (refunds, reconciliation).

    ``idempotency_key`` names the attempt; the card is added to it, so a replaced card is a new
    attempt while the same attempt repeated (a run rolled back after Stripe answered) gets Stripe's
    first answer instead of a second charge."""
    from billing import ledger  # the ledger module stays free of services (the run imports it)

    if not online_payments_enabled():
        raise _unavailable(gw.MANUAL_PAYMENTS_MESSAGE)
    profile = ensure_customer(Payer.PARTNER, partner)
    if not profile.has_card:
        raise MissingBillingData(_("Cadastre um cartão de crédito em Meus dados → Pagamento."))
    key = f"{idempotency_key}-{profile.card_payment_method_id}"
    try:
        result = get_gateway().charge_card(profile.stripe_customer_id, amount_cents, CREDIT_CHARGE_PREFIX + reference,
                                           key)
    except gw.CardDeclined as exc:
        raise MissingBillingData(_("Cartão recusado pela operadora (%(code)s).",
                                   code=exc.decline_code or exc.code or "card_declined")) from exc
    except gw.GatewayError as exc:
        raise _unavailable(exc) from exc
    if not result.succeeded:
        raise MissingBillingData(_("O pagamento com cartão não foi confirmado."))
    paid = f"cartão {result.payment_intent_id}"
    return ledger.post(partner.id, amount_cents, ledger.CreditKind.CARD_PAYMENT, reference,
                       description=f"{description[:200]} — {paid}" if description else paid.capitalize(), actor=actor)
