"""Partner API v1: signup links, contract status, plan and payer changes, client history."""

from flask import g, jsonify, request
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
from contracts import services
from contracts.models import ContractError, ForbiddenTransition, LinkState, SignupLink
from core.audit import AuditEvent
from core.db import db, utcnow
from partner.access import get_partner_client
from partner.models import ContractStatus, Payer

# -- serialisation -------------------------------------------------------------------------------------


def link_json(link: SignupLink, now=None) -> dict:
    state = link.state_at(now or utcnow())
    return {
        "id": link.id,
        "url": services.link_url(link) if state == LinkState.PENDING else None,
        "plan_id": link.plan_id,
        "payer": link.payer.value,
        "trial_days": link.trial_days,
        "client_email": link.client_email,
        "state": state.value,
        "expires_at": iso(link.expires_at),
        "created_at": iso(link.created_at),
        "used_at": iso(link.used_at),
        "revoked_at": iso(link.revoked_at),
        "client_id": link.used_by_client_id,
    }


def contract_json(client) -> dict:
    pending = services.pending_plan_change(client)
    acceptance = services.acceptance_for(client)
    from partner.services import monthly_price

    return {
        "client_id": client.id,
        "status": client.status.value,
        "status_reason": client.status_reason,
        "software_id": client.software_id,
        "plan_id": client.plan_id,
        "payer": client.payer.value,
        "monthly_price_cents": monthly_price(client.plan, client.payer),
        "trial_ends_at": iso(client.trial_ends_at),
        "trial_auto_activate": client.trial_auto_activate,
        "accepted_at": iso(acceptance.accepted_at) if acceptance else None,
        "terms_version": acceptance.terms_version.version if acceptance else None,
        "pending_plan_change": {"plan_id": pending.plan_id, "effective_at": iso(pending.effective_at)}
        if pending else None,
    }


def history_json(event: AuditEvent) -> dict:
    return {"at": iso(event.at), "actor": event.actor_label, "action": event.action,
            "before": event.before, "after": event.after}


def _client_or_404(client_id):
    client = get_partner_client(g.partner.id, client_id)
    if client is None:
        raise ApiError(404, "not_found", _("Cliente não encontrado."))
    return client


def _link_or_404(link_id) -> SignupLink:
    link = db.session.scalar(select(SignupLink).where(SignupLink.id == link_id, SignupLink.partner_id == g.partner.id))
    if link is None:
        raise ApiError(404, "not_found", _("Link de contratação não encontrado."))
    return link


def _conflict(exc: ContractError):
    body = {"error": {"code": exc.code, "message": exc.message, "fields": {}}}
    if isinstance(exc, ForbiddenTransition):
        allowed = [s.value for s in exc.allowed]
        body["error"]["fields"] = {"status": exc.message}
        body["error"]["allowed"] = allowed
    response = jsonify(body)
    response.status_code = 409
    return response


# -- signup links ---------------------------------------------------------------------------------------


@bp.post("/signup-links")
@partner_token_required
def create_signup_link():
    data = json_body()
    link = services.create_signup_link(g.partner, data, label=g.api_actor_label)
    if data.get("send_email"):
        services.send_signup_link(link, link.client_email, label=g.api_actor_label)
    return jsonify(link_json(link)), 201


@bp.get("/signup-links")
@partner_token_required
def list_signup_links():
    page, per_page = page_params()
    state = request.args.get("state")
    if state and state not in {s.value for s in LinkState}:
        raise ApiError(422, "validation_error", _("Situação inválida."),
                       {"state": _("Use pending, used, expired ou revoked.")})
    query = select(SignupLink).where(SignupLink.partner_id == g.partner.id)
    now = utcnow()
    # States are derived from timestamps, so each filter is a condition on them.
    query = {
        "pending": query.where(SignupLink.used_at.is_(None), SignupLink.revoked_at.is_(None),
                               SignupLink.expires_at > now),
        "used": query.where(SignupLink.used_at.is_not(None)),
        "revoked": query.where(SignupLink.used_at.is_(None), SignupLink.revoked_at.is_not(None)),
        "expired": query.where(SignupLink.used_at.is_(None), SignupLink.revoked_at.is_(None),
                               SignupLink.expires_at <= now),
    }.get(state, query)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    links = db.session.scalars(
        query.order_by(SignupLink.created_at.desc(), SignupLink.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return jsonify({"items": [link_json(link, now) for link in links], "page": page, "per_page": per_page,
                    "total": total})


@bp.delete("/signup-links/<int:link_id>")
@partner_token_required
def revoke_signup_link(link_id):
    link = _link_or_404(link_id)
    try:
        services.revoke_signup_link(link, label=g.api_actor_label)
    except ContractError as exc:
        return _conflict(exc)
    return jsonify(link_json(link))


# -- contract changes -----------------------------------------------------------------------------------


@bp.post("/clients/<int:client_id>/status")
@partner_token_required
def change_client_status(client_id):
    client = _client_or_404(client_id)
    data = json_body()
    try:
        services.change_status(client, data.get("status"), data.get("reason"), note=data.get("note"),
                               label=g.api_actor_label)
    except ContractError as exc:
        return _conflict(exc)
    return jsonify(contract_json(client))


@bp.post("/clients/<int:client_id>/plan")
@partner_token_required
def change_client_plan(client_id):
    client = _client_or_404(client_id)
    data = json_body()
    plan = services.resolve_plan(data.get("plan_id"))
    services.change_plan(client, plan, when=data.get("when") or services.WHEN_NOW, label=g.api_actor_label)
    return jsonify(contract_json(client))


@bp.delete("/clients/<int:client_id>/plan/pending")
@partner_token_required
def cancel_client_plan_change(client_id):
    client = _client_or_404(client_id)
    try:
        services.cancel_pending_plan_change(client, label=g.api_actor_label)
    except ContractError as exc:
        return _conflict(exc)
    return jsonify(contract_json(client))


@bp.post("/clients/<int:client_id>/payer")
@partner_token_required
def change_client_payer(client_id):
    client = _client_or_404(client_id)
    services.change_payer(client, json_body().get("payer"), label=g.api_actor_label)
    return jsonify(contract_json(client))


@bp.get("/clients/<int:client_id>/contract")
@partner_token_required
def get_client_contract(client_id):
    return jsonify(contract_json(_client_or_404(client_id)))


@bp.post("/clients/<int:client_id>/acceptance-email")
@partner_token_required
def resend_acceptance(client_id):
    client = _client_or_404(client_id)
    try:
        services.request_acceptance(client, label=g.api_actor_label)
    except ContractError as exc:
        return _conflict(exc)
    return jsonify(contract_json(client)), 202


@bp.get("/clients/<int:client_id>/history")
@partner_token_required
def client_history(client_id):
    client = _client_or_404(client_id)
    page, per_page = page_params()
    query = select(AuditEvent).where(AuditEvent.client_id == client.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return jsonify({"items": [history_json(e) for e in events], "page": page, "per_page": per_page, "total": total})


# -- OpenAPI ---------------------------------------------------------------------------------------------

_STATUSES = [s.value for s in ContractStatus]


def _json(ref: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _page_of(ref: str) -> dict:
    return {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
        "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
    }}


def _register_openapi() -> None:
    from contracts.models import StatusReason

    reasons = [r.value for r in StatusReason]
    dt = {"type": ["string", "null"], "format": "date-time"}
    schema("SignupLink", {
        "type": "object",
        "required": ["id", "url", "plan_id", "payer", "state", "expires_at", "client_id"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": ["string", "null"], "format": "uri",
                    "description": "Link to share with the client (only while pending)."},
            "plan_id": {"type": "integer"},
            "payer": {"type": "string", "enum": [p.value for p in Payer]},
            "trial_days": {"type": "integer", "minimum": 0, "maximum": 90},
            "client_email": {"type": ["string", "null"], "format": "email"},
            "state": {"type": "string", "enum": [s.value for s in LinkState]},
            "expires_at": {"type": "string", "format": "date-time"},
            "created_at": {"type": "string", "format": "date-time"},
            "used_at": dt, "revoked_at": dt,
            "client_id": {"type": ["integer", "null"], "description": "The client created through the link."},
        },
    })
    schema("SignupLinkInput", {
        "type": "object", "required": ["plan_id", "payer"],
        "properties": {
            "plan_id": {"type": "integer"},
            "payer": {"type": "string", "enum": [p.value for p in Payer]},
            "trial_days": {"type": "integer", "minimum": 0, "maximum": 90, "default": 0},
            "client_email": {"type": "string", "format": "email"},
            "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 30, "default": 7},
            "send_email": {"type": "boolean", "description": "E-mail the link to client_email now."},
        },
    })
    schema("SignupLinkPage", _page_of("SignupLink"))
    schema("Contract", {
        "type": "object",
        "properties": {
            "client_id": {"type": "integer"},
            "status": {"type": "string", "enum": _STATUSES},
            "status_reason": {"type": ["string", "null"], "enum": [*reasons, None]},
            "software_id": {"type": "integer"}, "plan_id": {"type": "integer"},
            "payer": {"type": "string", "enum": [p.value for p in Payer]},
            "monthly_price_cents": {"type": "integer"},
            "trial_ends_at": dt, "trial_auto_activate": {"type": "boolean"},
            "accepted_at": dt, "terms_version": {"type": ["string", "null"]},
            "pending_plan_change": {"type": ["object", "null"], "properties": {
                "plan_id": {"type": "integer"}, "effective_at": {"type": "string", "format": "date-time"}}},
        },
    })
    schema("HistoryEntry", {
        "type": "object", "required": ["at", "actor", "action", "before", "after"],
        "properties": {"at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                       "action": {"type": "string"}, "before": {"type": ["object", "null"]},
                       "after": {"type": ["object", "null"]}},
    })
    schema("HistoryPage", _page_of("HistoryEntry"))
    schema("TransitionConflict", {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": {"type": "string", "enum": ["forbidden_transition"]}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "allowed": {"type": "array", "items": {"type": "string", "enum": _STATUSES},
                        "description": "Statuses the contract may move to from its current one."},
        }}},
    })
    sec = [{"partnerToken": []}]
    client_param = [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    paging = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
              {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}]

    def body(ref_or_schema):
        spec = ({"$ref": f"#/components/schemas/{ref_or_schema}"} if isinstance(ref_or_schema, str)
                else ref_or_schema)
        return {"required": True, "content": {"application/json": {"schema": spec}}}

    document("/api/v1/signup-links", "post", {
        "summary": "Create a signup link", "tags": ["Contracts"], "security": sec,
        "requestBody": body("SignupLinkInput"),
        "responses": {"201": {"description": "Created", **_json("SignupLink")}, **error_responses(401, 422)},
    })
    document("/api/v1/signup-links", "get", {
        "summary": "List signup links", "tags": ["Contracts"], "security": sec,
        "parameters": [{"name": "state", "in": "query", "schema": {"type": "string",
                                                                   "enum": [s.value for s in LinkState]}}, *paging],
        "responses": {"200": {"description": "Links, newest first", **_json("SignupLinkPage")},
                      **error_responses(401, 422)},
    })
    document("/api/v1/signup-links/{link_id}", "delete", {
        "summary": "Revoke a pending signup link", "tags": ["Contracts"], "security": sec,
        "parameters": [{"name": "link_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Revoked", **_json("SignupLink")}, **error_responses(401, 404, 409)},
    })
    document("/api/v1/clients/{client_id}/status", "post", {
        "summary": "Change the contract status",
        "description": "Allowed: trial→active|blocked|cancelled, active→blocked|cancelled, "
                       "blocked→active|cancelled, cancelled→active. blocked and cancelled need a reason.",
        "tags": ["Contracts"], "security": sec, "parameters": client_param,
        "requestBody": body({"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": _STATUSES},
            "reason": {"type": "string", "enum": reasons}, "note": {"type": "string", "maxLength": 500}}}),
        "responses": {"200": {"description": "Changed", **_json("Contract")},
                      "409": {"description": "Forbidden transition (allowed ones listed)",
                              **_json("TransitionConflict")},
                      **error_responses(401, 404, 422)},
    })
    document("/api/v1/clients/{client_id}/plan", "post", {
        "summary": "Change the plan now or from the next cycle", "tags": ["Contracts"], "security": sec,
        "parameters": client_param,
        "requestBody": body({"type": "object", "required": ["plan_id"], "properties": {
            "plan_id": {"type": "integer"},
            "when": {"type": "string", "enum": ["now", "next_cycle"], "default": "now"}}}),
        "responses": {"200": {"description": "Changed or scheduled", **_json("Contract")},
                      **error_responses(401, 404, 422)},
    })
    document("/api/v1/clients/{client_id}/plan/pending", "delete", {
        "summary": "Cancel the plan change scheduled for the next cycle", "tags": ["Contracts"], "security": sec,
        "parameters": client_param,
        "responses": {"200": {"description": "Cancelled", **_json("Contract")}, **error_responses(401, 404, 409)},
    })
    document("/api/v1/clients/{client_id}/payer", "post", {
        "summary": "Change who pays the monthly fee", "tags": ["Contracts"], "security": sec,
        "parameters": client_param,
        "requestBody": body({"type": "object", "required": ["payer"], "properties": {
            "payer": {"type": "string", "enum": [p.value for p in Payer]}}}),
        "responses": {"200": {"description": "Changed", **_json("Contract")}, **error_responses(401, 404, 422)},
    })
    document("/api/v1/clients/{client_id}/contract", "get", {
        "summary": "The client's contract", "tags": ["Contracts"], "security": sec, "parameters": client_param,
        "responses": {"200": {"description": "Contract", **_json("Contract")}, **error_responses(401, 404)},
    })
    document("/api/v1/clients/{client_id}/acceptance-email", "post", {
        "summary": "Resend the contract acceptance e-mail", "tags": ["Contracts"], "security": sec,
        "parameters": client_param,
        "responses": {"202": {"description": "Queued", **_json("Contract")}, **error_responses(401, 404, 409)},
    })
    document("/api/v1/clients/{client_id}/history", "get", {
        "summary": "Every recorded change of the client, newest first", "tags": ["Contracts"], "security": sec,
        "parameters": [*client_param, *paging],
        "responses": {"200": {"description": "History", **_json("HistoryPage")}, **error_responses(401, 404, 422)},
    })


_register_openapi()
