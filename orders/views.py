"""The partner panel's "Pedidos": order a service for a client (summary with every price, then
confirm), the order page with its tabs (Histórico, Histórico de espaço, Histórico de renovações,
Responsáveis) and actions, and the credit balance ("Saldo"). Managers only; another partner's order
is a 404. The dashboard's "Espaço XML" column comes from here too."""

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from billing import ledger
from core.db import db
from core.permissions import ORDERS_MANAGE, require
from core.validators import ValidationError
from orders import documents, quota, services
from orders.models import (
    CANCELLABLE,
    EVENT_LABELS,
    PAYMENT_LABELS,
    RUNNING,
    STATUS_COLORS,
    STATUS_LABELS,
    Order,
    OrderStatus,
    PaymentChoice,
)
from partner.models import Client, Payer
from partner.tabs import DashboardColumn, Flag, register_dashboard_column
from partner.views import catalogue

bp = Blueprint("orders", __name__)


def _order(order_id) -> Order:
    order = services.get_order_for_partner(current_user.partner_id, order_id)
    if order is None:
        abort(404)
    return order


HOLDER_PREFIX = "client."


def _form() -> dict:
    """The order form as the services read it: ``addon_<code>`` fields become ``addons``; with
    "Novo titular" chosen, the ``client.<field>`` inputs (Novo cadastro's) become ``client``."""
    data = {k: v for k, v in request.form.items()
            if k != "csrf_token" and not k.startswith(("addon_", HOLDER_PREFIX))}
    data["addons"] = {k.removeprefix("addon_"): v for k, v in request.form.items() if k.startswith("addon_") and v}
    if data.get("holder") == "new":
        data.pop("client_id", None)
        data["client"] = {k.removeprefix(HOLDER_PREFIX): v for k, v in request.form.items()
                          if k.startswith(HOLDER_PREFIX)}
    return data


def _holder_form(data: dict, errors: dict) -> dict:
    """What the "Novo titular" part of the form shows: its values and its errors by field name."""
    software, plans = catalogue()
    return {
        "holder_data": data.get("client") or {"payer": Payer.PARTNER.value},
        "holder_errors": {k.removeprefix(HOLDER_PREFIX): v for k, v in errors.items() if k.startswith(HOLDER_PREFIX)},
        "software": software, "plans": plans, "payers": list(Payer),
    }


def _clients():
    return db.session.scalars(select(Client).where(Client.partner_id == current_user.partner_id)
                              .order_by(Client.sort_name, Client.id).limit(500)).all()


@bp.route("/pedidos")
@require(ORDERS_MANAGE)
def index():
    orders = db.session.scalars(services.orders_of(current_user.partner_id).limit(200)).all()
    return render_template("orders/index.html", orders=orders, balance=ledger.balance(current_user.partner_id),
                           labels=STATUS_LABELS, colors=STATUS_COLORS)


@bp.route("/pedidos/novo", methods=["GET", "POST"])
@require(ORDERS_MANAGE)
def new():
    data, errors, summary = {k: v for k, v in request.args.items() if k != "step"}, {}, None
    if request.method == "POST":
        data = _form()
        try:
            # the step rides on the button's formaction: a busy (disabled) button sends no value
            if request.values.get("step") == "confirm":
                order = services.place_order(current_user.partner, data, actor=current_user)
                if order.status == OrderStatus.AWAITING_PAYMENT:
                    flash(_("Pedido criado, aguardando pagamento: %(m)s",
                            m=order.events[0].note if order.events else ""), "warning")
                else:
                    flash(_("Pedido #%(id)s confirmado.", id=order.id), "success")
                return redirect(url_for("orders.detail", order_id=order.id))
            # the summary: both parts checked (the holder, new or chosen, and the order), nothing saved
            _request, summary = services.check_order(current_user.partner, data)
        except ValidationError as exc:
            errors, summary = exc.fields, None
    return render_template(
        "orders/new.html", data=data, errors=errors, summary=summary, clients=_clients(),
        services=services.active_services(), payments=[(p.value, PAYMENT_LABELS[p]) for p in services.ORDER_PAYMENTS],
        renewals=[(p.value, PAYMENT_LABELS[p]) for p in PaymentChoice],
        balance=ledger.balance(current_user.partner_id), **_holder_form(data, errors),
    ), (422 if errors else 200)


@bp.route("/pedidos/<order_id>")
@require(ORDERS_MANAGE)
def detail(order_id):
    order = _order(order_id)
    usage = quota.usage_of(order)
    gb = request.args.get("gb")
    storage_quote = None
    if gb and order.status in RUNNING:
        try:
            storage_quote = (services.parse_gb(gb), *services.storage_quote(order, services.parse_gb(gb)))
        except (ValidationError, services.OrderError):
            storage_quote = None
    return render_template(
        "orders/detail.html", order=order, usage=usage, labels=STATUS_LABELS, colors=STATUS_COLORS,
        event_labels=EVENT_LABELS,
        cancellable=order.status in CANCELLABLE, running=order.status in RUNNING,
        renewable=services.renewable(order), storage_quote=storage_quote, gb_addon=services.gb_addon(order),
        payments=[(p.value, PAYMENT_LABELS[p]) for p in services.ORDER_PAYMENTS],
        saved=documents.saved_responsibles(order.partner_id), balance=ledger.balance(order.partner_id),
        errors={},
    )


def _back(order, message=None, category="success"):
    if message:
        flash(message, category)
    return redirect(url_for("orders.detail", order_id=order.id))


def _act(order, call, done_message):
    try:
        call()
    except (services.OrderError, ValidationError) as exc:
        message = exc.message if isinstance(exc, services.OrderError) else \
            "; ".join(str(v) for v in exc.fields.values())
        status = getattr(exc, "status", 422) if isinstance(exc, services.OrderError) else 422
        return render_template("orders/refused.html", order=order, message=message), status
    return _back(order, done_message)


@bp.route("/pedidos/<order_id>/pagar", methods=["POST"])
@require(ORDERS_MANAGE)
def pay(order_id):
    order = _order(order_id)
    return _act(order, lambda: services.pay_order(order, request.form.get("payment"), actor=current_user),
                _("Pedido pago."))


@bp.route("/pedidos/<order_id>/reenviar-aceite", methods=["POST"])
@require(ORDERS_MANAGE)
def resend_acceptance(order_id):
    order = _order(order_id)
    return _act(order, lambda: services.resend_acceptance(order, actor=current_user),
                _("E-mail de aceite reenviado."))


@bp.route("/pedidos/<order_id>/cancelar", methods=["POST"])
@require(ORDERS_MANAGE)
def cancel(order_id):
    order = _order(order_id)
    return _act(order, lambda: services.cancel_order(order, actor=current_user),
                _("Pedido cancelado. O valor pago voltou ao seu saldo de crédito."))


@bp.route("/pedidos/<order_id>/espaco", methods=["POST"])
@require(ORDERS_MANAGE)
def add_storage(order_id):
    order = _order(order_id)
    return _act(order, lambda: services.add_storage(order, request.form.get("gb"),
                                                    request.form.get("payment") or "balance", actor=current_user),
                _("Espaço adicionado."))


@bp.route("/pedidos/<order_id>/renovar", methods=["POST"])
@require(ORDERS_MANAGE)
def renew(order_id):
    order = _order(order_id)
    return _act(order, lambda: services.renew(order, request.form.get("payment") or None, actor=current_user),
                _("Pedido renovado."))


@bp.route("/pedidos/<order_id>/responsaveis", methods=["POST"])
@require(ORDERS_MANAGE)
def add_responsible(order_id):
    order = _order(order_id)
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return _act(order, lambda: documents.add_responsible(order, data, actor=current_user),
                _("Responsável adicionado."))


@bp.route("/pedidos/<order_id>/responsaveis/<responsible_id>/documentos", methods=["POST"])
@require(ORDERS_MANAGE)
def add_attachment(order_id, responsible_id):
    order = _order(order_id)
    person = documents.get_responsible(order, responsible_id)
    if person is None:
        abort(404)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    return _act(order, lambda: documents.add_attachment(order, person, upload.filename if upload else "", data,
                                                        actor=current_user),
                _("Documento anexado."))


@bp.route("/pedidos/<order_id>/documentos/<attachment_id>")
@require(ORDERS_MANAGE)
def download_attachment(order_id, attachment_id):
    import io

    order = _order(order_id)
    attachment = documents.get_attachment(order, attachment_id)
    if attachment is None:
        abort(404)
    return send_file(io.BytesIO(documents.attachment_bytes(attachment)), mimetype=attachment.content_type,
                     as_attachment=True, download_name=attachment.filename)


@bp.route("/saldo")
@require(ORDERS_MANAGE)
def balance():
    partner_id = current_user.partner_id
    return render_template("orders/ledger.html", balance=ledger.balance(partner_id),
                           entries=ledger.entries(partner_id, limit=200))


# -- the dashboard's usage column -------------------------------------------------------------------


def usage_cell(value):
    usage = quota.parse_usage_cell(value)
    if usage is None or (not usage.used_bytes and not usage.quota_gb):
        return Flag("—", "light")
    if not usage.quota_gb:
        return Flag(_("%(u).2f GB, sem pedido", u=usage.used_gb), "secondary")
    color = "danger" if usage.percent >= 100 else "warning" if usage.percent >= 70 else "success"
    return Flag(_("%(u).2f de %(q)s GB (%(p)s%%)", u=usage.used_gb, q=usage.quota_gb, p=usage.percent), color)


register_dashboard_column(DashboardColumn("xml_usage", _l("Espaço XML"), quota.usage_expression, usage_cell,
                                          order=70))
