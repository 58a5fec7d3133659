"""Billing in the partner panel (Meus dados → Pagamento, Minhas faturas), the client area's
invoices, invoice PDFs and boletos, and the Stripe webhook endpoint."""

from functools import wraps

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from billing import services
from billing.errors import BillingError
from billing.models import Invoice, InvoiceLine, InvoiceStatus, PaymentMethod, PaymentStatus
from billing.pdf import pdf_filename, render_invoice_pdf
from billing.webhooks import WebhookRejected, receive_stripe_event
from core.db import db
from core.extensions import csrf
from core.permissions import CLIENT_AREA, INVOICES_PAY, has_permission
from core.validators import ValidationError
from partner.models import Partner, Payer
from partner.tabs import AreaSection, Flag, register_client_area_section, register_flag_provider

bp = Blueprint("billing", __name__)

STATUS_LABELS = {
    "paid": _l("Paga"), "pending": _l("Pendente"), "overdue": _l("Vencida"), "void": _l("Cancelada"),
    "uncollectible": _l("Incobrável"), "draft": _l("Rascunho"),
}
STATUS_COLORS = {
    "paid": "success", "pending": "warning", "overdue": "danger", "void": "secondary",
    "uncollectible": "dark", "draft": "light",
}


def require_payer(view):
    """A manager (INVOICES_PAY) or a client user (its own invoices); 403 for anyone else."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        from core.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not (has_permission(current_user, INVOICES_PAY) or has_permission(current_user, CLIENT_AREA)):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def require_manager(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        from core.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not has_permission(current_user, INVOICES_PAY) or not current_user.partner_id:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _partner() -> Partner:
    partner = db.session.get(Partner, current_user.partner_id)
    if partner is None:
        abort(403)
    return partner


def _invoice_or_404(invoice_id) -> Invoice:
    invoice = services.get_invoice_for(current_user, invoice_id)
    if invoice is None:
        abort(404)
    return invoice


@bp.app_context_processor
def _billing_helpers():
    return {"invoice_status_label": lambda s: str(STATUS_LABELS.get(s, s)),
            "invoice_status_color": lambda s: STATUS_COLORS.get(s, "light")}


# -- Meus dados → Pagamento ------------------------------------------------------------------------


def _payment_page(partner: Partner, errors=None, status=200):
    profile = services.profile_for(Payer.PARTNER, partner, create=False)
    invoices = db.session.scalars(
        services.invoices_visible_to(current_user).order_by(Invoice.month.desc(), Invoice.id.desc()).limit(120)
    ).all()
    setup = None
    online = services.online_payments_enabled()
    pays = services.partner_pays_for_clients(partner)
    if online and pays and request.args.get("cartao") == "novo":
        try:
            setup = services.start_card_setup(partner)
        except BillingError as exc:
            flash(exc.message, "error")
    return render_template(
        "billing/payment.html", partner=partner, profile=profile, invoices=invoices, pays_for_clients=pays,
        online=online, setup=setup, errors=errors or {}, today=services.local_today(),
        display_status=services.display_status, current_boleto=services.current_boleto,
        publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or "", methods=list(PaymentMethod),
        how_to_pay=services.how_to_pay(),
    ), status


@bp.route("/meus-dados/pagamento")
@require_manager
def payment():
    """Payment method (only when the partner pays for some client) and "Minhas faturas"."""
    return _payment_page(_partner())


@bp.route("/meus-dados/pagamento/metodo", methods=["POST"])
@require_manager
def set_method():
    partner = _partner()
    try:
        services.set_payment_method(partner, request.form.get("method", ""), actor=current_user)
    except ValidationError as exc:
        return _payment_page(partner, errors=exc.fields, status=422)
    flash(_("Forma de pagamento salva."), "success")
    return redirect(url_for("billing.payment"))


@bp.route("/meus-dados/pagamento/cartao", methods=["POST"])
@require_manager
def save_card():
    """Receives only the ``pm_…`` id Stripe.js produced; card data never reaches this server."""
    partner = _partner()
    try:
        profile = services.save_card(partner, request.form.get("payment_method_id", ""), actor=current_user)
    except ValidationError as exc:
        return _payment_page(partner, errors=exc.fields, status=422)
    except BillingError as exc:
        flash(exc.message, "error")
        return _payment_page(partner, status=exc.status)
    flash(_("Cartão %(brand)s final %(last4)s salvo.", brand=(profile.card_brand or "").title(),
            last4=profile.card_last4 or ""), "success")
    return redirect(url_for("billing.payment"))


# -- invoices (manager: Minhas faturas; client user: its own) --------------------------------------


def _back(invoice: Invoice) -> str:
    return url_for("billing.invoice", invoice_id=invoice.id)


def _invoice_page(invoice: Invoice, status: int = 200):
    profile = services.profile_for(invoice.payer, services.payer_of(invoice), create=False)
    return render_template(
        "billing/invoice.html", invoice=invoice, status=services.display_status(invoice),
        boleto=services.current_boleto(invoice), online=services.online_payments_enabled(), profile=profile,
        payable=invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE) and invoice.total_cents > 0,
        is_manager=has_permission(current_user, INVOICES_PAY), how_to_pay=services.how_to_pay(invoice),
    ), status


def _invoice_error(invoice: Invoice, exc: BillingError):
    """A refused payment action: the invoice page again, with the reason on top and how to pay
    below (not a dead-end error page), at the error's status so nothing is saved."""
    flash(exc.message, "error")
    return _invoice_page(invoice, exc.status)


@bp.route("/faturas/<invoice_id>")
@require_payer
def invoice(invoice_id):
    return _invoice_page(_invoice_or_404(invoice_id))


def pdf_response(invoice: Invoice) -> Response:
    """The invoice PDF, never cached by browsers or proxies (it carries the payer's data)."""
    response = Response(render_invoice_pdf(invoice), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{pdf_filename(invoice)}"'
    response.headers["Cache-Control"] = "private, no-store, max-age=0"
    return response


@bp.route("/faturas/<invoice_id>/pdf")
@require_payer
def invoice_pdf(invoice_id):
    return pdf_response(_invoice_or_404(invoice_id))


@bp.route("/faturas/<invoice_id>/boleto", methods=["POST"])
@require_payer
def generate_boleto(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    try:
        services.generate_boleto(invoice, actor=current_user)
    except BillingError as exc:
        return _invoice_error(invoice, exc)
    flash(_("Boleto gerado. Pague pelo código de barras ou pelo PDF do boleto."), "success")
    return redirect(_back(invoice))


@bp.route("/faturas/<invoice_id>/cartao", methods=["POST"])
@require_manager
def pay_with_card(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    try:
        payment = services.pay_with_card(invoice, actor=current_user)
    except BillingError as exc:
        return _invoice_error(invoice, exc)
    if payment.status == PaymentStatus.FAILED:
        # Redirect (not an error status) so the declined attempt stays recorded.
        flash(_("Pagamento não aprovado pelo cartão. Verifique o cartão ou gere um boleto."), "error")
    elif payment.status == PaymentStatus.SUCCEEDED:
        flash(_("Pagamento aprovado. Obrigado!"), "success")
    else:
        flash(_("Pagamento em processamento; avisaremos quando for confirmado."), "info")
    return redirect(_back(invoice))


# -- client area section -------------------------------------------------------------------------------


def _client_invoices(client) -> dict:
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.payer_key == Invoice.key_for(Payer.CLIENT, client.id),
                              Invoice.status != InvoiceStatus.DRAFT)
        .order_by(Invoice.month.desc(), Invoice.id.desc()).limit(60)
    ).all()
    return {"invoices": invoices, "show": bool(invoices) or client.payer == Payer.CLIENT,
            "display_status": services.display_status, "today": services.local_today(),
            "online": services.online_payments_enabled()}


register_client_area_section(AreaSection("billing/_client_invoices.html", order=40, context=_client_invoices))


def _overdue_flags(client_ids: list[int]) -> dict:
    """Dashboard badge "Fatura vencida" on clients an overdue invoice covers (one query)."""
    rows = db.session.scalars(
        select(InvoiceLine.client_id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.client_id.in_(client_ids), Invoice.status == InvoiceStatus.OPEN,
               Invoice.due_date < services.local_today())
        .distinct()
    )
    return {client_id: [Flag(_("Fatura vencida"), "danger")] for client_id in rows}


register_flag_provider(_overdue_flags)


# -- Stripe webhooks ---------------------------------------------------------------------------------------


@bp.route("/billing/webhooks/stripe", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    """Signature first (400), then store and apply; a repeated event is acknowledged as a no-op."""
    try:
        event, new = receive_stripe_event(request.get_data(cache=False), request.headers.get("Stripe-Signature", ""))
    except WebhookRejected:
        return jsonify({"error": {"code": "invalid_signature", "message": "Assinatura inválida.", "fields": {}}}), 400
    return jsonify({"id": event.stripe_event_id, "status": event.status, "duplicate": not new}), 200

