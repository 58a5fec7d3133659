"""Dunning: the invoice notice, reminders before and after the due date (each once), the card
charge of payers who chose card, and the block of the contracts an invoice covers after
``BILLING_BLOCK_AFTER_DAYS`` days overdue (reason: non-payment). Paying lifts exactly those blocks
(``billing.services.unblock_covered_clients``); a manual block is never touched.

Settings (app config, all optional): ``BILLING_REMINDER_DAYS_BEFORE`` (default ``(3,)``),
``BILLING_REMINDER_DAYS_AFTER`` (default ``(1, 5)``), ``BILLING_BLOCK_AFTER_DAYS`` (default 15)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from billing import services
from billing.errors import BillingError
from billing.models import BillingProfile, Invoice, InvoiceNotice, InvoiceStatus, Payment, PaymentMethod
from billing.run import local_today
from billing.services import block_after_days, block_limit_date
from contracts import services as contract_services
from core import audit
from core.db import db
from partner.models import Client

log = logging.getLogger(__name__)

CHUNK = 500


def _days(name: str, default) -> tuple[int, ...]:
    value = current_app.config.get(name, default)
    if isinstance(value, int):
        value = (value,)
    if isinstance(value, str):
        value = tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
    return tuple(sorted({int(v) for v in value if int(v) > 0}))


def reminder_days_before() -> tuple[int, ...]:
    return _days("BILLING_REMINDER_DAYS_BEFORE", (3,))


def reminder_days_after() -> tuple[int, ...]:
    return _days("BILLING_REMINDER_DAYS_AFTER", (1, 5))


def notice_due(invoice: Invoice, today: date) -> str | None:
    """The one notice an open invoice calls for today: the newest reminder of its phase, or the
    issued notice when no reminder applies yet. Sent only if not sent before."""
    days_left = (invoice.due_date - today).days
    if days_left < 0:
        overdue = -days_left
        passed = [d for d in reminder_days_after() if overdue >= d]
        return f"after:{max(passed)}" if passed else "issued"
    near = [d for d in reminder_days_before() if days_left <= d]
    return f"before:{min(near)}" if near else "issued"


@dataclass
class DunningResult:
    notices: dict[str, int] = field(default_factory=dict)
    blocked_invoices: int = 0
    blocked_clients: int = 0
    card_charges: int = 0

    def count(self, kind: str) -> None:
        self.notices[kind.split(":")[0]] = self.notices.get(kind.split(":")[0], 0) + 1


def run_dunning(today: date | None = None) -> DunningResult:
    """One pass over the open invoices (in id order, in chunks); safe to run any number of times
    a day: every notice and the block are recorded once per invoice (``invoice_notices``)."""
    today = today or local_today()
    result = DunningResult()
    last_id = 0
    while True:
        invoices = db.session.scalars(
            select(Invoice).where(Invoice.status == InvoiceStatus.OPEN, Invoice.id > last_id)
            .order_by(Invoice.id).limit(CHUNK)
        ).all()
        if not invoices:
            break
        last_id = invoices[-1].id
        done = _done_notices([i.id for i in invoices])
        for invoice in invoices:
            _dun(invoice, today, done.get(invoice.id, set()), result)
        db.session.flush()
    return result


def _done_notices(invoice_ids: list[int]) -> dict[int, set[str]]:
    done: dict[int, set[str]] = {}
    rows = db.session.execute(
        select(InvoiceNotice.invoice_id, InvoiceNotice.kind).where(InvoiceNotice.invoice_id.in_(invoice_ids))
    )
    for invoice_id, kind in rows:
        done.setdefault(invoice_id, set()).add(kind)
    return done


def _mark(invoice: Invoice, kind: str) -> None:
    db.session.add(InvoiceNotice(invoice_id=invoice.id, kind=kind))


def _dun(invoice: Invoice, today: date, done: set[str], result: DunningResult) -> None:
    if "card-attempt" not in done and _pays_by_card(invoice) and services.online_payments_enabled():
        _mark(invoice, "card-attempt")
        if _charge(invoice):
            result.card_charges += 1
            return
    if invoice.due_date <= block_limit_date(today) and "block" not in done:
        _mark(invoice, "block")
        blocked = block_covered_clients(invoice)
        result.blocked_invoices += 1
        result.blocked_clients += len(blocked)
        services.notify_invoice(invoice, "invoice_blocked", _("Contratos bloqueados por falta de pagamento — fatura %(n)s",
                                                        n=invoice.number), blocked=blocked, today=today)
        result.count("block")
        return
    kind = notice_due(invoice, today)
    if kind and kind not in done:
        _mark(invoice, kind)
        _send_notice(invoice, kind, today)
        result.count(kind)


def send_issued_notices(invoice_ids: list[int]) -> int:
    """The invoice e-mail, as the invoices are issued: queued in the outbox in the issuing
    transaction (so it leaves with the commit, or not at all) and marked sent, so the daily pass
    does not send it again. Only invoices that ask for money (open) get it; returns how many."""
    from sqlalchemy.orm import selectinload

    if not invoice_ids:
        return 0
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.id.in_(invoice_ids), Invoice.status == InvoiceStatus.OPEN)
        .options(selectinload(Invoice.partner), selectinload(Invoice.client)).order_by(Invoice.id)
    ).all()
    done = _done_notices([i.id for i in invoices])
    today = local_today()
    sent = 0
    for invoice in invoices:
        if "issued" not in done.get(invoice.id, set()):
            _mark(invoice, "issued")
            _send_notice(invoice, "issued", today)
            sent += 1
    db.session.flush()
    return sent


def _send_notice(invoice: Invoice, kind: str, today: date) -> None:
    if kind == "issued":
        services.notify_invoice(invoice, "invoice_issued", _("Nova fatura %(n)s — Revenda", n=invoice.number))
        return
    phase, days = kind.split(":")
    if phase == "before":
        subject = _("Sua fatura %(n)s vence em %(d)s dia(s)", n=invoice.number, d=(invoice.due_date - today).days)
    else:
        subject = _("Fatura %(n)s vencida — evite o bloqueio", n=invoice.number)
    services.notify_invoice(invoice, "invoice_reminder", subject, phase=phase, today=today,
                     days_overdue=(today - invoice.due_date).days, days_left=(invoice.due_date - today).days,
                     block_on=invoice.due_date + timedelta(days=block_after_days() - 1))  # last day before the block


def _pays_by_card(invoice: Invoice) -> bool:
    method = db.session.scalar(select(BillingProfile.method).where(BillingProfile.payer_key == invoice.payer_key))
    return method == PaymentMethod.CARD


def _charge(invoice: Invoice) -> bool:
    """Charge a card payer's invoice once, automatically; a failure leaves it to the reminders."""
    if db.session.scalar(select(Payment.id).where(Payment.invoice_id == invoice.id).limit(1)):
        return False
    try:
        payment = services.pay_with_card(invoice)
    except BillingError as exc:
        log.info("dunning: card charge of invoice %s not possible: %s", invoice.id, exc.code)
        return False
    return payment.status == "succeeded"


def block_covered_clients(invoice: Invoice) -> list[int]:
    """Block, for non-payment, the active contracts the invoice covers; returns their ids."""
    blocked = []
    for client_id in services.covered_client_ids(invoice):
        client = db.session.get(Client, client_id)
        # contracts blocks only trial/active contracts; blocked or cancelled ones are left alone
        if client is not None and contract_services.block_for_non_payment(client):
            blocked.append(client_id)
    audit.record("invoice.dunning_block", invoice, client_id=invoice.client_id,
                 after={"number": invoice.number, "blocked_clients": blocked})
    return blocked
