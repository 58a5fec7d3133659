"""Partner API v1: who the token is (``/me``) and the invitations of the partner's managers.

A partner token belongs to the partner, not to a person: these invitations name no inviting user
(the audit log records the token's prefix as the actor)."""

from flask import g, url_for
from flask_babel import gettext as _

from accounts import invitations
from accounts.models import Invitation, InvitationKind
from api.common import ApiError, bp, document, error_responses, iso, json_body, partner_token_required, schema
from core.db import utcnow
from core.validators import ValidationError


def invitation_json(invitation: Invitation) -> dict:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "name": invitation.name,
        "status": invitation.status(utcnow()),
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        "accepted_at": iso(invitation.accepted_at),
        "revoked_at": iso(invitation.revoked_at),
    }


def _firm_name() -> str:
    return g.partner.trade_name or g.partner.legal_name


@bp.get("/me")
@partner_token_required
def me():
    """The partner the token belongs to."""
    return {"partner_id": g.partner.id, "partner_name": _firm_name(), "partner_legal_name": g.partner.legal_name}


@bp.get("/invitations")
@partner_token_required
def list_invitations():
    """The partner's manager invitations, newest first."""
    return {"items": [invitation_json(i) for i in invitations.invitations_of(partner_id=g.partner.id)]}


@bp.post("/invitations")
@partner_token_required
def create_invitation():
    """Invite a manager to the partner: the e-mail carries the "Registre agora" link."""
    body = json_body()
    unknown = sorted(set(body) - {"email", "name"})
    errors = {k: _("Campo desconhecido.") for k in unknown}
    errors.update({k: _("Deve ser um texto.") for k in ("email", "name") if k in body and not isinstance(body[k], str)})
    if errors:
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."), errors)
    try:
        invitation = invitations.invite(InvitationKind.MANAGER, body, partner_id=g.partner.id, actor=None,
                                        firm_name=_firm_name())
    except ValidationError as exc:
        raise ApiError(422, "validation_error", exc.message, {k: str(v) for k, v in exc.fields.items()}) from None
    location = url_for("partner_api.list_invitations") + f"/{invitation.id}"
    return invitation_json(invitation), 201, {"Location": location}


@bp.delete("/invitations/<invitation_id>")
@partner_token_required
def revoke_invitation(invitation_id):
    """Cancel an open invitation: its link stops working."""
    invitation = invitations.get_invitation(invitation_id, partner_id=g.partner.id)
    if invitation is None:
        raise ApiError(404, "not_found", _("Convite não encontrado."))
    try:
        invitations.revoke(invitation, actor=None)
    except ValidationError as exc:
        raise ApiError(409, "conflict", str(next(iter(exc.fields.values())))) from None
    return "", 204


# -- OpenAPI --------------------------------------------------------------------------------------------

_SECURITY = [{"partnerToken": []}]


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


schema("Me", {
    "type": "object",
    "required": ["partner_id", "partner_name"],
    "properties": {
        "partner_id": {"type": "integer"},
        "partner_name": {"type": "string", "description": "Nome fantasia (ou razão social)"},
        "partner_legal_name": {"type": "string"},
    },
})
schema("Invitation", {
    "type": "object",
    "required": ["id", "email", "name", "status", "created_at", "expires_at"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
        "created_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "accepted_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
    },
})
schema("InvitationList", {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}},
})
schema("InvitationInput", {
    "type": "object", "required": ["email", "name"], "additionalProperties": False,
    "properties": {"email": {"type": "string", "format": "email", "maxLength": 254},
                   "name": {"type": "string", "maxLength": 200, "description": "Nome e sobrenome"}},
})

document("/api/v1/me", "get", {
    "summary": "A revenda dona do token",
    "operationId": "getMe",
    "security": _SECURITY,
    "responses": {"200": _json("Me", "Revenda"), **error_responses(401, 429)},
})
document("/api/v1/invitations", "get", {
    "summary": "Listar convites de gestores",
    "operationId": "listInvitations",
    "security": _SECURITY,
    "responses": {"200": _json("InvitationList", "Convites"), **error_responses(401, 429)},
})
document("/api/v1/invitations", "post", {
    "summary": "Convidar um gestor (e-mail com “Registre agora”)",
    "operationId": "createInvitation",
    "security": _SECURITY,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/InvitationInput"}}}},
    "responses": {"201": _json("Invitation", "Convite enviado"), **error_responses(401, 413, 422, 429)},
})
document("/api/v1/invitations/{id}", "delete", {
    "summary": "Cancelar um convite aberto",
    "operationId": "revokeInvitation",
    "security": _SECURITY,
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"204": {"description": "Convite cancelado"}, **error_responses(401, 404, 409, 429)},
})
