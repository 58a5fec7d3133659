"""The billing domain's words for the audit log (core/audit_words.py): invoices, payments, boletos,
refunds, payment methods, the monthly run. Nothing here is shown to a client's accountant."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from billing.models import InvoiceStatus, PaymentMethod, PaymentStatus
from core.audit_words import register_actions, register_fields, register_formatter, register_reference, register_values
from core.db import db
from partner.models import Client, Partner, Payer

INVOICE_STATUS_LABELS = {
    InvoiceStatus.DRAFT: _l("Rascunho"), InvoiceStatus.OPEN: _l("Em aberto"), InvoiceStatus.PAID: _l("Paga"),
    InvoiceStatus.VOID: _l("Cancelada"), InvoiceStatus.UNCOLLECTIBLE: _l("Incobrável"),
}

register_actions({
    "invoice.draft": _l("Fatura em preparação"),
    "invoice.open": _l("Fatura emitida"),
    "invoice.paid": _l("Fatura paga"),
    "invoice.void": _l("Fatura cancelada"),
    "invoice.uncollectible": _l("Fatura marcada como incobrável"),
    "invoice.dunning_block": _l("Contratos bloqueados por fatura vencida"),
    "invoice.refund": _l("Reembolso registrado"),
    "invoice.resent": _l("Fatura reenviada por e-mail"),
    "billing.payment_method": _l("Forma de pagamento alterada"),
    "billing.card_saved": _l("Cartão de crédito salvo"),
    "billing.run": _l("Faturamento mensal executado"),
    "payment.card": _l("Pagamento com cartão"),
    "payment.failed": _l("Pagamento não aprovado"),
    "payment.manual_recorded": _l("Pagamento manual registrado"),
    "payment.manual_approved": _l("Pagamento manual aprovado"),
    "payment.manual_rejected": _l("Pagamento manual recusado"),
    "payment.mismatch": _l("Pagamento recusado: valor ou moeda diferente da fatura"),
    "payment.unexpected": _l("Pagamento inesperado recebido"),
    "boleto.created": _l("Boleto gerado"),
})

register_fields({"number": _l("Número da fatura")}, scope="invoice")
register_fields({
    "invoice": _l("Fatura"),
    "total_cents": _l("Total"),
    "amount_cents": _l("Valor"),
    "due_date": _l("Vencimento"),
    "paid_at": _l("Paga em"),
    "void_reason": _l("Motivo do cancelamento"),
    "payer_key": _l("Pagador"),
    "month": _l("Mês"),
    "blocked_clients": _l("Contratos bloqueados"),
    "stripe_refund_id": _l("Código do reembolso no Stripe"),
    "method": _l("Forma de pagamento"),
    "brand": _l("Bandeira"),
    "last4": _l("Cartão"),
    "code": _l("Motivo da recusa"),
    "reference": _l("Referência do pagamento"),
    "payment_intent": _l("Referência no Stripe"),
    "reason": _l("Motivo"),
    "clients": _l("Clientes"),
    "invoices_created": _l("Faturas criadas"),
    "invoices_skipped": _l("Faturas já existentes"),
    "lines_created": _l("Itens criados"),
    "batches": _l("Lotes"),
    "first_number": _l("Primeira fatura"),
    "last_number": _l("Última fatura"),
    "currency": _l("Moeda recebida"),
    "expected_cents": _l("Valor da fatura"),
    "expected_currency": _l("Moeda da fatura"),
})

register_values("status", INVOICE_STATUS_LABELS, scope="invoice")
# payment.card records the payment's status, payment.unexpected the invoice's: the two sets of codes differ
register_values("status", {
    **INVOICE_STATUS_LABELS,
    PaymentStatus.PENDING_APPROVAL: _l("Aguardando aprovação"), PaymentStatus.PROCESSING: _l("Em processamento"),
    PaymentStatus.SUCCEEDED: _l("Aprovado"), PaymentStatus.FAILED: _l("Não aprovado"),
    PaymentStatus.REJECTED: _l("Recusado"),
}, scope="payment")
register_values("method", {PaymentMethod.BOLETO: _l("Boleto bancário"), PaymentMethod.CARD: _l("Cartão de crédito")})


def _count(singular, plural):
    return lambda n: ngettext(singular, plural, int(n)) if isinstance(n, int) else str(n)


def _local_date(value) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def _month(value) -> str:
    year, _sep, month = str(value).partition("-")
    return f"{month}/{year}" if month else str(value)


register_formatter("due_date", _local_date)
register_formatter("month", _month)
register_formatter("last4", lambda v: _l("final %(d)s", d=v))
register_formatter("brand", lambda v: str(v).capitalize())
register_formatter("code", lambda v: str(v).replace("_", " "))
register_formatter("blocked_clients", _count("%(num)d contrato", "%(num)d contratos"))
register_formatter("clients", _count("%(num)d cliente", "%(num)d clientes"))
register_formatter("invoices_created", _count("%(num)d fatura", "%(num)d faturas"))
register_formatter("invoices_skipped", _count("%(num)d fatura", "%(num)d faturas"))
register_formatter("lines_created", _count("%(num)d item", "%(num)d itens"))
register_formatter("batches", _count("%(num)d lote", "%(num)d lotes"))


def _payers(keys) -> dict:
    """``partner:12`` / ``client:34`` → the partner's or the client's name (one query per kind)."""
    ids = {Payer.PARTNER.value: set(), Payer.CLIENT.value: set()}
    for key in keys:
        kind, _sep, owner = str(key).partition(":")
        if kind in ids and owner.isdigit():
            ids[kind].add(int(owner))
    names = {}
    if ids["partner"]:
        for partner in db.session.scalars(select(Partner).where(Partner.id.in_(ids["partner"]))):
            names[f"partner:{partner.id}"] = str(_l("Revenda %(name)s", name=str(partner)))
    if ids["client"]:
        for client in db.session.scalars(select(Client).where(Client.id.in_(ids["client"]))):
            names[f"client:{client.id}"] = str(_l("Cliente %(name)s", name=client.legal_name))
    return names


register_reference("payer_key", _l("Pagador"), _payers)
