"""Partner API v1: the partner's outgoing webhooks (list, create, delete, deliveries, resend).

The secret is in the creation answer only; it is stored encrypted (it signs every delivery) and never
returned again."""

from flask import g, request
from flask_babel import gettext as _

from api.common import ApiError, bp, document, error_responses, iso, json_body, partner_token_required, schema
from core.db import db
from core.security import parse_id
from core.validators import ValidationError
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoint_json(endpoint: WebhookEndpoint) -> dict:
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events), "active": endpoint.is_active,
            "consecutive_failures": endpoint.consecutive_failures, "disabled_at": iso(endpoint.disabled_at),
            "created_at": iso(endpoint.created_at)}


def delivery_json(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.public_id, "event_type": delivery.event_type, "status": delivery.status.value,
        "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
        "created_at": iso(delivery.created_at), "delivered_at": iso(delivery.delivered_at),
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "attempt_log": [{"at": iso(a.attempted_at), "status_code": a.status_code, "error": a.error,
                         "response_snippet": a.response_snippet, "duration_ms": a.duration_ms}
                        for a in delivery.attempt_log],
    }


def _load(endpoint_id) -> WebhookEndpoint:
    number = parse_id(endpoint_id)
    endpoint = db.session.get(WebhookEndpoint, number) if number is not None else None
    if endpoint is None or endpoint.partner_id != g.partner.id:
        raise ApiError(404, "not_found", _("Webhook não encontrado."))
    return endpoint


@bp.get("/webhooks")
@partner_token_required
def list_webhooks():
    endpoints = db.session.scalars(services.partner_endpoints(g.partner.id)).all()
    return {"data": [endpoint_json(e) for e in endpoints], "events": list(services.EVENTS)}


@bp.post("/webhooks")
@partner_token_required
def create_webhook():
    data = json_body()
    unknown = sorted(set(data) - {"url", "events"})
    if unknown:
        raise ApiError(422, "validation_error", _("Campos desconhecidos: %(f)s.", f=", ".join(unknown)[:200]),
                       {k: _("Campo desconhecido.") for k in unknown[:20]})
    try:
        endpoint, secret = services.create_endpoint(url=data.get("url"), events=data.get("events"),
                                                    partner_id=g.partner.id)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", _("Dados inválidos."),
                       {k: str(v) for k, v in exc.fields.items()}) from None
    return {**endpoint_json(endpoint), "secret": secret}, 201, {"Cache-Control": "no-store"}


@bp.delete("/webhooks/<endpoint_id>")
@partner_token_required
def delete_webhook(endpoint_id):
    services.delete_endpoint(_load(endpoint_id))
    return "", 204


@bp.get("/webhooks/<endpoint_id>/deliveries")
@partner_token_required
def list_deliveries(endpoint_id):
    endpoint = _load(endpoint_id)
    before = request.args.get("before")
    before_id = parse_id(before) if before else None
    if before and before_id is None:
        raise ApiError(422, "validation_error", _("before deve ser um número."), {"before": _("Número inválido.")})
    deliveries = services.deliveries_of(endpoint, limit=50, before_id=before_id)
    return {"data": [delivery_json(d) for d in deliveries],
            "next_before": deliveries[-1].id if len(deliveries) == 50 else None}


@bp.post("/webhooks/<endpoint_id>/deliveries/<delivery_id>/resend")
@partner_token_required
def resend_delivery(endpoint_id, delivery_id):
    endpoint = _load(endpoint_id)
    delivery = db.session.scalar(db.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.public_id == str(delivery_id)[:40]))
    if delivery is None:
        raise ApiError(404, "not_found", _("Entrega não encontrada."))
    try:
        services.resend(delivery)
    except services.WebhookError as exc:
        raise ApiError(409, "endpoint_disabled", exc.message) from None
    return delivery_json(delivery), 202


# -- OpenAPI -------------------------------------------------------------------------------------

schema("Webhook", {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "url": {"type": "string", "maxLength": 500},
        "events": {"type": "array", "items": {"type": "string", "enum": list(services.EVENTS)}},
        "active": {"type": "boolean"}, "consecutive_failures": {"type": "integer"},
        "disabled_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
    },
})
schema("WebhookCreated", {"allOf": [{"$ref": "#/components/schemas/Webhook"}, {
    "type": "object", "required": ["secret"],
    "properties": {"secret": {"type": "string", "description": "Shown once: verify Revenda-Signature with it."}}}]})
schema("WebhookDelivery", {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The Revenda-Delivery header (same on retries and resends)"},
        "event_type": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
        "attempts": {"type": "integer"}, "last_status_code": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        "attempt_log": {"type": "array", "items": {"type": "object"}},
    },
})
_SECURITY = [{"partnerToken": []}]
_DESCRIPTION = ("Each event is POSTed as JSON {id, type, created_at, data} with the headers "
                "Revenda-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with the secret> and "
                "Revenda-Delivery: <unique id> (the same on retries and resends: drop repeats).")
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]

document("/api/v1/webhooks", "get", {
    "summary": "List the partner's webhooks", "description": _DESCRIPTION, "security": _SECURITY,
    "responses": {"200": {"description": "Webhooks", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}},
                                         "events": {"type": "array", "items": {"type": "string"}}}}}}},
                  **error_responses(401, 429)},
})
document("/api/v1/webhooks", "post", {
    "summary": "Create a webhook (the secret is in this answer only)", "description": _DESCRIPTION,
    "security": _SECURITY,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["url", "events"], "additionalProperties": False,
        "properties": {"url": {"type": "string", "maxLength": 500, "description": "https:// in production"},
                       "events": {"type": "array", "minItems": 1,
                                  "items": {"type": "string", "enum": list(services.EVENTS)}}}}}}},
    "responses": {"201": {"description": "Created", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/WebhookCreated"}}}}, **error_responses(401, 413, 422, 429)},
})
document("/api/v1/webhooks/{id}", "delete", {
    "summary": "Delete a webhook", "security": _SECURITY, "parameters": _ID,
    "responses": {"204": {"description": "Deleted"}, **error_responses(401, 404, 429)},
})
document("/api/v1/webhooks/{id}/deliveries", "get", {
    "summary": "A webhook's deliveries, newest first (50 a page)", "security": _SECURITY,
    "parameters": _ID + [{"name": "before", "in": "query", "schema": {"type": "integer"},
                          "description": "next_before of the previous page"}],
    "responses": {"200": {"description": "Deliveries", "content": {"application/json": {"schema": {
        "type": "object", "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}},
            "next_before": {"type": ["integer", "null"]}}}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", "post", {
    "summary": "Send a delivery again (same Revenda-Delivery id and body)", "security": _SECURITY,
    "parameters": _ID + [{"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "string"}}],
    "responses": {"202": {"description": "Queued", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/WebhookDelivery"}}}}, **error_responses(401, 404, 409, 429)},
})
