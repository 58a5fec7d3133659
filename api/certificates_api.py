"""Partner API v1: a client's certificate (upload, status) and integration-key rotation.

Neither the PFX nor its password ever leave through this API; the integration key is returned
once, by the rotation that creates it."""

from flask import current_app, g, request
from flask_babel import gettext as _

from api.common import ApiError, bp, document, error_responses, iso, json_body, partner_token_required, schema
from certificates import services
from certificates.models import Certificate, IntegrationKey
from certificates.pfx import DEFAULT_MAX_BYTES, CertificateError
from core import ratelimit
from core.db import utcnow
from core.validators import ValidationError
from partner.access import get_partner_client
from partner.models import Client


def certificate_json(cert: Certificate | None) -> dict:
    return services.certificate_summary(cert, utcnow())


def key_json(key: IntegrationKey) -> dict:
    return {"masked": key.masked, "last4": key.last4, "created_at": iso(key.created_at),
            "expires_at": iso(key.expires_at)}


def _load_client(client_id) -> Client:
    client = get_partner_client(g.partner.id, client_id)
    if client is None:
        raise ApiError(404, "not_found", _("Cliente não encontrado."))
    return client


@bp.get("/clients/<client_id>/certificate")
@partner_token_required
def get_certificate(client_id):
    """Status and metadata of the client's active certificate (never the file or password)."""
    client = _load_client(client_id)
    return certificate_json(services.active_certificate(client.id))


@bp.put("/clients/<client_id>/certificate")
@partner_token_required
def put_certificate(client_id):
    """Upload (or replace) the client's A1 certificate: multipart ``file`` and ``password``."""
    client = _load_client(client_id)
    if not ratelimit.hit(current_app.config["PFX_UPLOAD_RATE_LIMIT"], "pfx-upload", f"partner:{g.partner.id}"):
        message = services.upload_rate_limited_message()
        raise ApiError(429, "rate_limited", message, {"file": message})
    upload = request.files.get("file")
    data = upload.stream.read(DEFAULT_MAX_BYTES + 1) if upload is not None else None
    try:
        cert = services.upload_certificate(client, data, request.form.get("password", ""), actor=None)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", exc.message, {k: str(v) for k, v in exc.fields.items()}) from None
    except CertificateError as exc:
        message = services.certificate_error_message(exc)
        raise ApiError(422, f"certificate_{exc.code.value}", message, {services.error_field(exc): message}) from None
    except services.ConcurrentChangeError:
        raise ApiError(409, "conflict", _("Outro envio de certificado para este cliente terminou antes. Confira e tente de novo.")) from None
    return certificate_json(cert)


@bp.get("/clients/<client_id>/integration-key")
@partner_token_required
def get_integration_key(client_id):
    """The current key, masked (null before the first one is issued), and the old keys still inside
    their grace period. A read: it never creates a key (rotating issues the first one)."""
    client = _load_client(client_id)
    key = services.current_integration_key(client.id)
    return {"current": key_json(key) if key is not None else None,
            "in_grace": [key_json(k) for k in services.keys_in_grace(client.id)]}


@bp.post("/clients/<client_id>/integration-key/rotate")
@partner_token_required
def rotate_integration_key(client_id):
    """Issue a new integration key, returned once; the old one works for ``grace_seconds``."""
    client = _load_client(client_id)
    body = json_body() if request.get_data(cache=True) else {}
    unknown = set(body) - {"grace_seconds"}
    if unknown:
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."),
                       {k: _("Campo desconhecido.") for k in sorted(unknown)})
    grace = body.get("grace_seconds", 0)
    if isinstance(grace, bool) or not isinstance(grace, int):
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."),
                       {"grace_seconds": _("Informe um número inteiro.")})
    try:
        rotated = services.rotate_integration_key(client, grace, actor=None)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", exc.message, {k: str(v) for k, v in exc.fields.items()}) from None
    except services.ConcurrentChangeError:
        raise ApiError(409, "conflict", _("A chave foi alterada ao mesmo tempo por outra requisição. Tente de novo.")) from None
    response = {"key": rotated.plaintext, **key_json(rotated.key),
                "previous_key_expires_at": iso(rotated.previous_expires_at), "grace_seconds": grace}
    return response, 201, {"Cache-Control": "no-store"}


# -- OpenAPI ----------------------------------------------------------------------------------------

_CLIENT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_SECURITY = [{"partnerToken": []}]


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
schema("CertificateStatus", {
    "type": "object",
    "required": ["status", "cnpj", "subject", "not_before", "not_after", "fingerprint_sha256", "days_left"],
    "properties": {
        "status": {"type": "string", "enum": [s.value for s in services.CertificateStatus],
                   "description": "expiring = vence em até 30 dias"},
        "cnpj": {"type": ["string", "null"]},
        "subject": {"type": ["string", "null"], "description": "DN do titular (RFC 4514)"},
        "not_before": _NULLABLE_TIME,
        "not_after": _NULLABLE_TIME,
        "fingerprint_sha256": {"type": ["string", "null"], "description": "hexadecimal minúsculo"},
        "days_left": {"type": ["integer", "null"]},
    },
})
schema("IntegrationKeyInfo", {
    "type": "object",
    "required": ["masked", "last4", "created_at", "expires_at"],
    "properties": {
        "masked": {"type": "string"}, "last4": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "expires_at": _NULLABLE_TIME,
    },
})
schema("IntegrationKeyCreated", {
    "type": "object",
    "required": ["key", "masked", "last4", "created_at", "previous_key_expires_at", "grace_seconds"],
    "properties": {
        "key": {"type": "string", "description": "A nova chave (rvk_live_…), mostrada só nesta resposta"},
        "masked": {"type": "string"}, "last4": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "null"},
        "previous_key_expires_at": {**_NULLABLE_TIME,
                                    "description": "Até quando a chave anterior funciona (null: não havia)"},
        "grace_seconds": {"type": "integer"},
    },
})

document("/api/v1/clients/{id}/certificate", "get", {
    "summary": "Situação do certificado digital do cliente",
    "description": "Nunca devolve o arquivo nem a senha.",
    "operationId": "getClientCertificate",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "responses": {"200": _json("CertificateStatus", "Certificado ativo (status none se não houver)"),
                  **error_responses(401, 404, 429)},
})
document("/api/v1/clients/{id}/certificate", "put", {
    "summary": "Enviar (ou substituir) o certificado A1 do cliente",
    "description": "O PFX é validado (senha, chave, validade, CNPJ do cliente) e guardado cifrado; "
                   "em caso de erro nada é salvo e a mensagem diz o motivo.",
    "operationId": "putClientCertificate",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": f".pfx/.p12, até {DEFAULT_MAX_BYTES // 1024} KB"},
                       "password": {"type": "string", "format": "password"}},
    }}}},
    "responses": {"200": _json("CertificateStatus", "Certificado aceito"), **error_responses(401, 404, 413, 422, 429)},
})
document("/api/v1/clients/{id}/integration-key", "get", {
    "summary": "Chave de integração do cliente (mascarada)",
    "operationId": "getIntegrationKey",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "responses": {"200": {"description": "Chave atual e chaves antigas ainda aceitas", "content": {"application/json": {
        "schema": {"type": "object", "properties": {
            "current": {"oneOf": [{"$ref": "#/components/schemas/IntegrationKeyInfo"}, {"type": "null"}]},
            "in_grace": {"type": "array", "items": {"$ref": "#/components/schemas/IntegrationKeyInfo"}}}}}}},
                  **error_responses(401, 404, 429)},
})
document("/api/v1/clients/{id}/integration-key/rotate", "post", {
    "summary": "Gerar nova chave de integração",
    "description": "A chave nova é devolvida só nesta resposta. O software do cliente deixa de funcionar até "
                   "ser configurado com ela; a chave anterior continua aceita durante grace_seconds.",
    "operationId": "rotateIntegrationKey",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {"grace_seconds": {"type": "integer", "enum": list(services.GRACE_CHOICES), "default": 0,
                                         "description": "0 (nenhum), 3600 (1 hora), 86400 (24 horas), 604800 (7 dias)"}},
    }}}},
    "responses": {"201": _json("IntegrationKeyCreated", "Nova chave"), **error_responses(401, 404, 409, 422, 429)},
})
