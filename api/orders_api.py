"""Partner API v1: the service catalogue, orders and the partner credit ledger.

A partner sees only its own orders and ledger; another partner's order is a 404. Bad input is a 422
naming each field; a rule that refuses (cancel after activation, resend outside "awaiting
documentation", a renewal no longer possible) is a 409 with its code."""

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, select

from api.common import (
    ApiError,
    bp,
    document,
    error_responses,
    iso,
    json_body,
    page_params,
    partner_token_required,
    schema,
)
from billing import ledger
from core.db import db
from orders import services
from orders.models import Order, OrderStatus, Service


def service_json(service: Service) -> dict:
    return {
        "id": service.id, "name": service.name, "kind": str(service.kind),
        "terms": [{"months": t.months, "price_cents": t.price_cents} for t in service.terms],
        "starter_kits_gb": [k.gb for k in service.kits],
        "starter_kits": [{"gb": k.gb, "monthly_price_cents": k.monthly_price_cents} for k in service.kits],
        "addons": [{"code": a.code, "label": a.label, "unit_monthly_cents": a.unit_monthly_cents}
                   for a in service.addons],
    }


def order_json(order: Order) -> dict:
    return {
        "id": order.id, "status": OrderStatus(order.status).value, "client_id": order.client_id,
        "service_id": order.service_id, "term_months": order.term_months, "starter_kit_gb": order.starter_kit_gb,
        "quota_gb": order.quota_gb, "amount_cents": order.amount_cents, "paid_cents": order.paid_cents,
        "payment": order.payment and str(order.payment), "renewal": str(order.renewal),
        "term_start": iso(order.term_start), "renews_at": iso(order.renews_at),
        "lines": order.snapshot.get("lines", []), "created_at": iso(order.created_at),
        "activated_at": iso(order.activated_at), "cancelled_at": iso(order.cancelled_at),
    }


def _load(order_id) -> Order:
    order = services.get_order_for_partner(g.partner.id, order_id)
    if order is None:
        raise ApiError(404, "not_found", _("Pedido não encontrado."))
    return order


def _rule(call):
    try:
        return call()
    except services.OrderError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


@bp.get("/services")
@partner_token_required
def list_services():
    """The active services of the catalogue."""
    return {"items": [service_json(s) for s in services.active_services()]}


@bp.post("/orders")
@partner_token_required
def create_order():
    """Order a service for a client (``client_id``, or ``client`` to register one)."""
    data = json_body()
    order = _rule(lambda: services.place_order(g.partner, data, label=g.api_actor_label))
    return order_json(order), 201


@bp.get("/orders")
@partner_token_required
def list_orders():
    query = services.orders_of(g.partner.id)
    page, per_page = page_params()
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    orders = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [order_json(o) for o in orders], "total": total, "page": page, "per_page": per_page}


@bp.get("/orders/<order_id>")
@partner_token_required
def get_order(order_id):
    return order_json(_load(order_id))


@bp.post("/orders/<order_id>/cancel")
@partner_token_required
def cancel_service_order(order_id):
    order = _load(order_id)
    return order_json(_rule(lambda: services.cancel_order(order, label=g.api_actor_label)))


@bp.post("/orders/<order_id>/acceptance-email")
@partner_token_required
def resend_order_acceptance(order_id):
    order = _load(order_id)
    to = _rule(lambda: services.resend_acceptance(order, label=g.api_actor_label))
    return {"sent_to": to, "order": order_json(order)}


@bp.post("/orders/<order_id>/storage")
@partner_token_required
def add_order_storage(order_id):
    order = _load(order_id)
    data = json_body()
    purchase = _rule(lambda: services.add_storage(order, data.get("gb"), data.get("payment") or "balance",
                                                  label=g.api_actor_label))
    return {"gb": purchase.gb, "amount_cents": purchase.amount_cents, "days_charged": purchase.days_charged,
            "order": order_json(order)}, 201


@bp.post("/orders/<order_id>/renew")
@partner_token_required
def renew_order(order_id):
    order = _load(order_id)
    data = json_body()
    renewal = _rule(lambda: services.renew(order, data.get("payment"), label=g.api_actor_label))
    return {"amount_cents": renewal.amount_cents, "period_start": iso(renewal.period_start),
            "period_end": iso(renewal.period_end), "order": order_json(order)}, 201


@bp.get("/ledger")
@partner_token_required
def get_ledger():
    page, per_page = page_params()
    total, items = ledger.page_of(g.partner.id, page, per_page)
    return {"balance_cents": ledger.balance(g.partner.id), "total": total, "page": page, "per_page": per_page,
            "items": [{"id": e.id, "amount_cents": e.amount_cents, "kind": str(e.kind), "reference": e.reference,
                       "description": e.description, "created_at": iso(e.created_at)} for e in items]}


# -- OpenAPI ------------------------------------------------------------------------------------

_SECURITY = [{"partnerToken": []}]
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _body(properties: dict, required: list[str]) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}


schema("Service", {
    "type": "object", "required": ["id", "name", "kind", "terms", "starter_kits_gb"],
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["xml_storage", "extra_users", "other"]},
        "terms": {"type": "array", "items": {"type": "object", "required": ["months", "price_cents"], "properties": {
            "months": {"type": "integer"}, "price_cents": {"type": "integer"}}}},
        "starter_kits_gb": {"type": "array", "items": {"type": "integer"}},
        "starter_kits": {"type": "array", "items": {"type": "object"}},
        "addons": {"type": "array", "items": {"type": "object"}},
    },
})
schema("Order", {
    "type": "object", "required": ["id", "status", "amount_cents", "renews_at"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in OrderStatus]},
        "client_id": {"type": "integer"}, "service_id": {"type": "integer"}, "term_months": {"type": "integer"},
        "starter_kit_gb": {"type": "integer"}, "quota_gb": {"type": "integer"},
        "amount_cents": {"type": "integer", "description": "O pedido como vendido (prazo + kit + adicionais)"},
        "paid_cents": {"type": "integer"},
        "payment": {"type": ["string", "null"], "enum": ["balance", "card", "invoice", None]},
        "renewal": {"type": "string", "enum": ["balance", "card", "invoice", "manual"]},
        "term_start": {"type": ["string", "null"], "format": "date"},
        "renews_at": {"type": ["string", "null"], "format": "date",
                      "description": "Primeiro dia após o prazo; null até a ativação (aceite do cliente)"},
        "lines": {"type": "array", "items": {"type": "object"}},
    },
})
_ORDER_BODY = {
    "client_id": {"type": "integer"},
    "client": {"type": "object", "description": "Novo titular, com os campos de POST /api/v1/clients"},
    "service_id": {"type": "integer"}, "term_months": {"type": "integer"}, "starter_kit_gb": {"type": "integer"},
    "addons": {"type": "object", "additionalProperties": {"type": "integer"}, "examples": [{"user": 2}]},
    "payment": {"type": "string", "enum": ["balance", "card", "invoice"], "default": "balance"},
    "renewal": {"type": "string", "enum": ["balance", "card", "invoice", "manual"], "default": "manual"},
}
document("/api/v1/services", "get", {
    "summary": "Catálogo de serviços", "operationId": "listServices", "security": _SECURITY,
    "responses": {"200": {"description": "Serviços ativos"}, **error_responses(401, 429)},
})
document("/api/v1/orders", "post", {
    "summary": "Pedir um serviço para um cliente",
    "description": "Pago (saldo, cartão ou próxima fatura), o pedido aguarda o aceite dos termos pelo cliente; "
                   "sem saldo ou com o cartão recusado, fica aguardando pagamento.",
    "operationId": "createOrder", "security": _SECURITY,
    "requestBody": _body(_ORDER_BODY, ["service_id", "term_months"]),
    "responses": {"201": _json("Order", "Pedido criado"), **error_responses(401, 422, 429)},
})
document("/api/v1/orders", "get", {
    "summary": "Listar pedidos", "operationId": "listOrders", "security": _SECURITY,
    "responses": {"200": {"description": "Pedidos da revenda"}, **error_responses(401, 422, 429)},
})
document("/api/v1/orders/{id}", "get", {
    "summary": "Consultar pedido", "operationId": "getOrder", "security": _SECURITY, "parameters": [_ID],
    "responses": {"200": _json("Order", "Pedido"), **error_responses(401, 404, 429)},
})
document("/api/v1/orders/{id}/cancel", "post", {
    "summary": "Cancelar pedido (antes da ativação; o valor volta ao saldo)", "operationId": "cancelOrder",
    "security": _SECURITY, "parameters": [_ID],
    "responses": {"200": _json("Order", "Pedido cancelado"), **error_responses(401, 404, 409, 429)},
})
document("/api/v1/orders/{id}/acceptance-email", "post", {
    "summary": "Reenviar e-mail de aceite (só aguardando documentação)", "operationId": "resendOrderAcceptance",
    "security": _SECURITY, "parameters": [_ID],
    "responses": {"200": {"description": "Enviado"}, **error_responses(401, 404, 409, 429)},
})
document("/api/v1/orders/{id}/storage", "post", {
    "summary": "Adicionar GB (proporcional até a renovação)", "operationId": "addOrderStorage",
    "security": _SECURITY, "parameters": [_ID],
    "requestBody": _body({"gb": {"type": "integer", "minimum": 1},
                          "payment": {"type": "string", "enum": ["balance", "card", "invoice"]}}, ["gb"]),
    "responses": {"201": {"description": "Espaço adicionado"}, **error_responses(401, 404, 409, 422, 429)},
})
document("/api/v1/orders/{id}/renew", "post", {
    "summary": "Renovar pedido", "operationId": "renewOrder", "security": _SECURITY, "parameters": [_ID],
    "requestBody": _body({"payment": {"type": "string", "enum": ["balance", "card", "invoice"]}}, []),
    "responses": {"201": {"description": "Renovado"}, **error_responses(401, 404, 409, 422, 429)},
})
document("/api/v1/ledger", "get", {
    "summary": "Saldo de crédito da revenda e seus lançamentos", "operationId": "getLedger", "security": _SECURITY,
    "responses": {"200": {"description": "{balance_cents, items}"}, **error_responses(401, 422, 429)},
})
