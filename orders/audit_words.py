"""The orders domain's words for the audit log (core/audit_words.py): orders, the service catalogue,
and the partner credit ledger (billing's rows, written for orders)."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.audit_words import register_actions, register_fields, register_formatter, register_values
from core.money import format_brl
from orders.models import KIND_LABELS, PAYMENT_LABELS, STATUS_LABELS

register_actions({
    "order.created": _l("Pedido criado"),
    "order.awaiting_payment": _l("Pedido aguardando pagamento"),
    "order.awaiting_documentation": _l("Pedido pago, aguardando documentação"),
    "order.active": _l("Pedido ativado"),
    "order.expiring": _l("Pedido a vencer"),
    "order.expired": _l("Pedido vencido"),
    "order.cancelled": _l("Pedido cancelado"),
    "order.acceptance_resent": _l("E-mail de aceite do pedido reenviado"),
    "order.storage_added": _l("Espaço adicionado ao pedido"),
    "order.renewed": _l("Pedido renovado"),
    "order.quota_warning": _l("Aviso de espaço de XML"),
    "order.responsible_added": _l("Responsável adicionado ao pedido"),
    "order.attachment_added": _l("Documento anexado ao pedido"),
    "service.created": _l("Serviço criado no catálogo"),
    "service.updated": _l("Serviço do catálogo alterado"),
    "ledger.entry": _l("Lançamento no saldo de crédito"),
})

register_fields({
    "service": _l("Serviço"),
    "term_months": _l("Prazo (meses)"),
    "quota_gb": _l("Espaço (GB)"),
    "gb": _l("GB"),
    "renews_at": _l("Renova em"),
    "automatic": _l("Automática"),
    "threshold": _l("Limite (%)"),
    "percent": _l("Uso (%)"),
    "status": _l("Situação"),
    "method": _l("Forma de pagamento"),
    "email": _l("E-mail"),
    "name": _l("Nome"),
    "filename": _l("Arquivo"),
}, scope="order")
register_values("status", {s.value: label for s, label in STATUS_LABELS.items()}, scope="order")
register_values("method", {p.value: label for p, label in PAYMENT_LABELS.items()}, scope="order")
register_fields({"name": _l("Nome"), "kind": _l("Tipo"), "is_active": _l("Ativo"), "terms": _l("Prazos e preços"),
                 "starter_kits_gb": _l("Starter kits (GB)"), "addons": _l("Adicionais")}, scope="service")
register_values("kind", {k.value: label for k, label in KIND_LABELS.items()}, scope="service")
register_fields({"kind": _l("Tipo"), "reference": _l("Referência")}, scope="ledger")
register_values("kind", {
    "order": _l("Pedido"), "order_cancelled": _l("Pedido cancelado (crédito)"),
    "card_payment": _l("Pagamento com cartão"), "invoice_applied": _l("Crédito usado na fatura"),
    "invoice_charged": _l("Pedidos cobrados na fatura"), "adjustment": _l("Ajuste"),
}, scope="ledger")

register_formatter("term_months", lambda v: ngettext("%(num)s mês", "%(num)s meses", int(v)), scope="order")
for _key in ("gb", "quota_gb"):
    register_formatter(_key, lambda v: f"{v} GB", scope="order")
for _key in ("threshold", "percent"):
    register_formatter(_key, lambda v: f"{v}%", scope="order")
register_formatter("automatic", lambda v: str(_l("sim") if v else _l("não")), scope="order")
register_formatter("terms", lambda v: ", ".join(f"{m} meses: {format_brl(int(p))}" for m, p in (v or {}).items()) or "—",
                   scope="service")
register_formatter("starter_kits_gb", lambda v: ", ".join(f"{g} GB" for g in (v or {})) or "—", scope="service")
register_formatter("addons", lambda v: ", ".join(f"{c}: {format_brl(int(p))}" for c, p in (v or {}).items()) or "—",
                   scope="service")
