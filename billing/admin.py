"""Finance staff views in the staff admin: invoices (filters: status, partner, month, overdue),
details with lines, payments and webhook events, and the actions: record a manual payment (which a
second finance user approves or rejects), void with a reason, resend the e-mail, PDF, CSV export.

Every action is a POST form (the global CSRF token protects it); errors come back as a flash
message on the details page with status 4xx, so nothing is saved."""


import re

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import tools
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_, not_, or_, select

from billing import export, services
from billing.errors import BillingError
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus, WebhookEvent
from core.admin import ReadOnlyView, add_shortcut
from core.db import db
from core.permissions import INVOICES_REVIEW
from core.security import parse_id
from core.validators import ValidationError
from partner.models import Client, Partner, Payer

STATUS_OPTIONS = [(s.value, label) for s, label in (
    (InvoiceStatus.OPEN, "Pendente"), (InvoiceStatus.PAID, "Paga"), (InvoiceStatus.VOID, "Cancelada"),
    (InvoiceStatus.UNCOLLECTIBLE, "Incobrável"), (InvoiceStatus.DRAFT, "Rascunho"))]


class OverdueFilter(BaseSQLAFilter):
    """Open invoices past their due date (business time zone)."""

    def apply(self, query, value, alias=None):
        overdue = and_(Invoice.status == InvoiceStatus.OPEN, Invoice.due_date < services.local_today())
        return query.filter(overdue if value == "1" else not_(overdue))

    def operation(self):
        return "é"


class PartnerNameFilter(BaseSQLAFilter):
    """The partner's name contains the text. A subquery, not a join: the list already joins
    ``partners`` (``get_query``), and Flask-Admin's own join for a related column made every use of
    this filter a 500 ("ambiguous column name")."""

    def apply(self, query, value, alias=None):
        names = select(Partner.id).where(Partner.legal_name.ilike(tools.parse_like_term(value)))
        return query.filter(Invoice.partner_id.in_(names))

    def operation(self):
        return "contém"


PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING_APPROVAL.value: "Aguardando aprovação", PaymentStatus.PROCESSING.value: "Processando",
    PaymentStatus.SUCCEEDED.value: "Confirmado", PaymentStatus.FAILED.value: "Falhou",
    PaymentStatus.REJECTED.value: "Recusado",
}
GATEWAY_LABELS = {"stripe": "Stripe", "manual": "Manual"}
METHOD_LABELS = {"card": "Cartão", "boleto": "Boleto", "manual": "Transf./depósito"}
WEBHOOK_STATUS_LABELS = {"received": "Recebido", "processed": "Processado", "ignored": "Ignorado",
                         "failed": "Falhou"}


def _value(value) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def _brl(view, context, model, name):
    from billing.pricing import format_brl

    return Markup(f'<span class="text-nowrap">{escape(format_brl(getattr(model, name)))}</span>')


def _date(view, context, model, name):
    """DD/MM/AAAA, like every date people read (the app's ``date`` filter)."""
    return current_app.jinja_env.filters["date"](getattr(model, name))


def _datetime(view, context, model, name):
    """DD/MM/AAAA HH:MM in the business time zone (the app's ``datetime`` filter), not raw UTC."""
    return current_app.jinja_env.filters["datetime"](getattr(model, name))


def _label(labels: dict, nowrap: bool = False):
    def format_(view, context, model, name):
        text = labels.get(_value(getattr(model, name)), _value(getattr(model, name)))
        # Short words: the admin list may break any word (overflow-wrap: anywhere) — not these.
        return Markup(f'<span class="text-nowrap">{escape(text)}</span>') if nowrap else text

    return format_


def _status(view, context, model, name):
    from billing.views import STATUS_LABELS

    return STATUS_LABELS.get(services.display_status(model), model.status)


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def _payer_search(text: str, digits: str | None):
    """Invoices whose number, or whose payer's name (razão social or nome fantasia) or CNPJ,
    contains ``text``; ``digits``: the CNPJ digits to look for (any punctuation typed)."""
    like = _like(text)
    client_hit = [Client.legal_name.ilike(like, escape="\\"), Client.trade_name.ilike(like, escape="\\")]
    partner_hit = [Partner.legal_name.ilike(like, escape="\\"), Partner.trade_name.ilike(like, escape="\\")]
    if digits:
        client_hit.append(Client.cnpj.like(_like(digits), escape="\\"))
        partner_hit.append(Partner.cnpj.like(_like(digits), escape="\\"))
    return or_(
        Invoice.number.ilike(like, escape="\\"),
        and_(Invoice.payer == Payer.PARTNER, or_(*partner_hit)),  # Partner is joined in get_query
        and_(Invoice.payer == Payer.CLIENT, Invoice.client_id.in_(select(Client.id).where(or_(*client_hit)))),
    )


def search_terms(search: str) -> list[tuple[str, str | None]]:
    """The search box: a CNPJ as typed (digits, dots, slash, dash, spaces) is one term; anything
    else is split into words, each of which must match (number, payer name or CNPJ)."""
    search = search.strip()
    if re.fullmatch(r"[\d./\-\s]+", search) and len(re.sub(r"\D", "", search)) >= 3:
        return [(search, re.sub(r"\D", "", search))]
    return [(word, re.sub(r"\D", "", word) if re.fullmatch(r"[\d./\-]{3,}", word) else None)
            for word in search.split()]


def _payer(view, context, model, name):
    owner = services.payer_of(model)
    return f"{owner.legal_name} ({'revenda' if model.payer == 'partner' else 'cliente'})"


class InvoiceAdmin(ReadOnlyView):
    permission = INVOICES_REVIEW
    details_template = "billing/admin_invoice_details.html"
    column_list = ("number", "month", "payer_label", "partner", "status_label", "due_date", "total_cents",
                   "paid_at")
    column_labels = {
        "number": "Número", "month": "Mês", "payer_label": "Pagador", "partner": "Revenda",
        "status_label": "Situação", "due_date": "Vencimento", "total_cents": "Total", "paid_at": "Paga em",
        "issued_at": "Emitida em", "payer_key": "Chave do pagador", "void_reason": "Motivo do cancelamento",
        "status": "Situação", "payer": "Pagador", "partner_id": "Revenda (id)", "client_id": "Cliente (id)",
    }
    column_formatters = {"total_cents": _brl, "status_label": _status, "payer_label": _payer, "due_date": _date,
                         "paid_at": _datetime}
    column_formatters_export = {
        "total_cents": lambda v, c, m, n: f"{m.total_cents / 100:.2f}",
        "status": lambda v, c, m, n: InvoiceStatus(m.status).value,
        "payer": lambda v, c, m, n: m.payer.value,
    }
    column_export_list = ("number", "month", "payer", "payer_key", "partner_id", "client_id", "status",
                          "due_date", "total_cents", "issued_at", "paid_at", "void_reason")
    column_sortable_list = ("number", "month", "due_date", "total_cents", "paid_at")
    column_default_sort = ("id", True)
    # Searching is ours (``_apply_search``): number, payer name or CNPJ; this list only turns the box on.
    column_searchable_list = ("number",)
    list_template = "billing/admin_invoice_list.html"
    column_filters = (
        FilterEqual(Invoice.status, "Situação", options=STATUS_OPTIONS),
        IntEqualFilter(Invoice.partner_id, "Revenda (id)"),
        PartnerNameFilter(Invoice.partner_id, "Revenda (nome)"),
        FilterEqual(Invoice.month, "Mês (AAAA-MM)"),
        OverdueFilter(Invoice.due_date, "Vencida", options=[("1", "Sim"), ("0", "Não")]),
    )

    def get_query(self):
        return super().get_query().join(Partner, Partner.id == Invoice.partner_id)

    def get_count_query(self):
        return super().get_count_query().join(Partner, Partner.id == Invoice.partner_id)

    def search_placeholder(self):
        return _("Número, pagador ou CNPJ")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        for text, digits in search_terms(search):
            condition = _payer_search(text, digits)
            query = query.filter(condition)
            if count_query is not None:
                count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """``xlsx`` and ``excel-csv`` (people, Excel pt-BR); anything else is Flask-Admin's own (the
        plain CSV for machines). The same search, filters and cap as the list."""
        if export_type not in export.FORMATS:
            return super().export(export_type)
        mimetype, extension, build = export.FORMATS[export_type]
        _count, invoices = self._export_data()
        filename = f"faturas-{services.local_today():%Y-%m-%d}.{extension}"
        return Response(build(invoices), mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    # -- details and actions ------------------------------------------------------------------

    def _invoice(self, invoice_id) -> Invoice:
        invoice_id = parse_id(invoice_id)
        invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
        if invoice is None:
            abort(404)
        return invoice

    def _details(self, invoice: Invoice, status: int = 200, errors: dict | None = None):
        events = db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.invoice_id == invoice.id).order_by(WebhookEvent.id)
        ).all()
        html = self.render(
            self.details_template, model=invoice, invoice=invoice, events=events, errors=errors or {},
            status=services.display_status(invoice), payer=services.payer_of(invoice),
            boleto=services.current_boleto(invoice), return_url=self.get_url(".index_view"),
            pending=[p for p in invoice.payments if p.status == PaymentStatus.PENDING_APPROVAL],
            me=current_user, today=services.local_today(),
        )
        return html, status

    @expose("/details/")
    def details_view(self):
        return self._details(self._invoice(request.args.get("id")))

    def _act(self, invoice: Invoice, action, success: str):
        try:
            action()
        except ValidationError as exc:
            for message in exc.fields.values():
                flash(str(message), "error")
            return self._details(invoice, 422, exc.fields)
        except BillingError as exc:
            flash(exc.message, "error")
            return self._details(invoice, exc.status)
        flash(success, "success")
        return redirect(self.get_url(".details_view", id=invoice.id))

    @expose("/<int:invoice_id>/manual-payment", methods=("POST",))
    def manual_payment(self, invoice_id):
        invoice = self._invoice(invoice_id)
        form = request.form
        return self._act(invoice, lambda: services.record_manual_payment(
            invoice, form.get("reference", ""), note=form.get("note"), amount=form.get("amount", ""),
            received_on=form.get("received_on", ""), actor=current_user),
            _("Pagamento registrado. Outro usuário do financeiro precisa aprová-lo."))

    def _payment(self, invoice: Invoice, payment_id) -> Payment:
        payment = db.session.get(Payment, payment_id)
        if payment is None or payment.invoice_id != invoice.id:
            abort(404)
        return payment

    @expose("/<int:invoice_id>/payments/<int:payment_id>/approve", methods=("POST",))
    def approve_payment(self, invoice_id, payment_id):
        invoice = self._invoice(invoice_id)
        payment = self._payment(invoice, payment_id)
        return self._act(invoice, lambda: services.approve_manual_payment(payment, actor=current_user),
                         _("Pagamento aprovado: fatura paga e bloqueios por falta de pagamento removidos."))

    @expose("/<int:invoice_id>/payments/<int:payment_id>/reject", methods=("POST",))
    def reject_payment(self, invoice_id, payment_id):
        invoice = self._invoice(invoice_id)
        payment = self._payment(invoice, payment_id)
        return self._act(invoice, lambda: services.reject_manual_payment(
            payment, actor=current_user, reason=request.form.get("reason", "")), _("Pagamento recusado."))

    @expose("/<int:invoice_id>/void", methods=("POST",))
    def void(self, invoice_id):
        invoice = self._invoice(invoice_id)
        return self._act(invoice, lambda: services.void_invoice(
            invoice, request.form.get("reason", ""), actor=current_user), _("Fatura cancelada."))

    @expose("/<int:invoice_id>/uncollectible", methods=("POST",))
    def uncollectible(self, invoice_id):
        invoice = self._invoice(invoice_id)
        return self._act(invoice, lambda: services.mark_uncollectible(invoice, actor=current_user),
                         _("Fatura marcada como incobrável."))

    @expose("/<int:invoice_id>/resend", methods=("POST",))
    def resend(self, invoice_id):
        invoice = self._invoice(invoice_id)
        return self._act(invoice, lambda: services.resend_invoice(invoice, actor=current_user),
                         _("E-mail da fatura reenviado."))

    @expose("/<int:invoice_id>/pdf")
    def pdf(self, invoice_id):
        from billing.views import pdf_response

        return pdf_response(self._invoice(invoice_id))


def _invoice_link(view, context, model, name):
    invoice = model.invoice
    if invoice is None:
        return ""
    return Markup(f'<a href="{url_for("invoices.details_view", id=invoice.id)}">{escape(invoice.number)}</a>')


class PaymentAdmin(ReadOnlyView):
    """Every payment; filter "aguardando aprovação" for the four-eyes queue."""

    permission = INVOICES_REVIEW
    column_list = ("created_at", "invoice", "gateway", "method", "reference", "amount_cents", "received_on", "status",
                   "created_by", "approved_by", "decided_at")
    column_labels = {"created_at": "Quando", "received_on": "Recebido em", "invoice": "Fatura", "gateway": "Meio", "method": "Forma",
                     "reference": "Referência", "amount_cents": "Valor", "status": "Situação",
                     "created_by": "Registrado por", "approved_by": "Decidido por", "decided_at": "Decidido em"}
    column_formatters = {"amount_cents": _brl, "invoice": _invoice_link, "created_at": _datetime,
                         "decided_at": _datetime, "received_on": _date, "status": _label(PAYMENT_STATUS_LABELS),
                         "gateway": _label(GATEWAY_LABELS, nowrap=True), "method": _label(METHOD_LABELS, nowrap=True)}
    column_formatters_export = {"status": lambda v, c, m, n: _value(m.status),
                                "gateway": lambda v, c, m, n: _value(m.gateway),
                                "amount_cents": lambda v, c, m, n: f"{m.amount_cents / 100:.2f}",  # as invoices
                                "invoice": lambda v, c, m, n: m.invoice.number if m.invoice else ""}
    column_filters = (
        FilterEqual(Payment.status, "Situação", options=list(PAYMENT_STATUS_LABELS.items())),
        FilterEqual(Payment.gateway, "Meio", options=list(GATEWAY_LABELS.items())),
        FilterEqual(Payment.method, "Forma", options=list(METHOD_LABELS.items())),
    )
    column_default_sort = ("id", True)
    column_searchable_list = ("reference",)


class WebhookEventAdmin(ReadOnlyView):
    permission = INVOICES_REVIEW
    column_labels = {"received_at": "Recebido em", "stripe_event_id": "Evento Stripe", "type": "Tipo",
                     "status": "Situação", "invoice": "Fatura", "error": "Erro", "processed_at": "Processado em",
                     "payload": "Conteúdo"}
    column_list = ("received_at", "stripe_event_id", "type", "status", "invoice", "error", "processed_at")
    column_details_list = ("received_at", "stripe_event_id", "type", "status", "invoice", "error", "processed_at",
                           "payload")
    column_formatters = {"invoice": _invoice_link, "received_at": _datetime, "processed_at": _datetime,
                         "status": _label(WEBHOOK_STATUS_LABELS)}
    column_formatters_export = {"status": lambda v, c, m, n: _value(m.status)}
    column_filters = ("type", FilterEqual(WebhookEvent.status, "Situação", options=list(WEBHOOK_STATUS_LABELS.items())))
    column_default_sort = ("id", True)
    column_searchable_list = ("stripe_event_id",)


def register(admin) -> None:
    admin.add_view(InvoiceAdmin(Invoice, db, name="Faturas", category="Financeiro", endpoint="invoices"))
    admin.add_view(PaymentAdmin(Payment, db, name="Pagamentos", category="Financeiro", endpoint="payments"))
    admin.add_view(WebhookEventAdmin(WebhookEvent, db, name="Webhooks Stripe", category="Financeiro",
                                     endpoint="webhook_events"))
    add_shortcut(admin, "invoices", INVOICES_REVIEW, _l("Faturas vencidas"), _l("Faturas em aberto após o vencimento."),
                 filter=("Vencida", "1"), order=10)
    add_shortcut(admin, "payments", INVOICES_REVIEW, _l("Pagamentos a aprovar"),
                 _l("Pagamentos manuais aguardando um segundo usuário do financeiro."),
                 filter=("Situação", PaymentStatus.PENDING_APPROVAL.value), order=20)
    add_shortcut(admin, "invoices", INVOICES_REVIEW, _l("Todas as faturas"), _l("Busca, filtros e exportação CSV."),
                 order=30)

