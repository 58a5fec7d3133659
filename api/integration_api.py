"""Integration API v1: what the client's software (e.g. FazNota) calls with its integration key.

``Authorization: Bearer rvk_live_…``. Authentication is one indexed query by the key's SHA-256
hash (joined with the client); a blocked or cancelled contract gets 403; rate-limited per key."""

import base64
from functools import wraps

from flask import Blueprint, current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from api.common import ApiError, bearer_token, document, error_response, error_responses, schema
from certificates import services
from core.db import db, utcnow, writes_on_get
from core.extensions import csrf, limiter
from partner.models import ContractStatus, Plan, Software

bp = Blueprint("integration_api", __name__, url_prefix="/api/v1/integration")
csrf.exempt(bp)

_REFUSED = {
    ContractStatus.BLOCKED: ("contract_blocked", _l("O contrato deste cliente está bloqueado. Fale com a sua revenda.")),
    ContractStatus.CANCELLED: ("contract_cancelled", _l("O contrato deste cliente foi cancelado. Fale com a sua revenda.")),
}


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


_HASH_KEY = "revenda.integration_key_hash"


def _token_hash() -> str | None:
    """SHA-256 of the presented key, computed once per request (rate-limit key and lookup)."""
    # Cached in the WSGI environ, not in ``g``: g lives as long as the app context, which a test
    # (or a CLI) may share between requests.
    environ = request.environ
    if _HASH_KEY not in environ:
        token = bearer_token()
        environ[_HASH_KEY] = services.hash_key(token) if token and len(token) <= 200 else None
    return environ[_HASH_KEY]


def _rate_key() -> str:
    digest = _token_hash()
    return f"integration:{digest}" if digest else f"integration-ip:{get_remote_address()}"


def _rate_limit() -> str:
    return current_app.config["INTEGRATION_RATE_LIMIT"]


per_key_limit = limiter.shared_limit(_rate_limit, scope="integration", key_func=_rate_key)


def _unauthorized(message: str):
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="integration"'
    return response


def integration_key_required(view):
    """Authenticate the client's software; sets ``g.integration_key`` and ``g.integration_client``."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = bearer_token()
        if token is None:
            return _unauthorized(_("Chave de integração ausente: envie o cabeçalho Authorization: Bearer <chave>."))
        found = services.authenticate_integration_key(token, key_hash=_token_hash())
        if found is None:
            return _unauthorized(_("Chave de integração inválida, revogada ou substituída por uma nova."))
        key, client = found
        refused = _REFUSED.get(ContractStatus(client.status))
        if refused is not None:
            return error_response(403, refused[0], str(refused[1]))
        g.integration_key, g.integration_client = key, client
        return view(*args, **kwargs)

    return wrapped


@bp.get("/ping")
def ping():
    """Liveness for the client's software (no key needed)."""
    return {"ok": True}


@bp.get("/me")
@per_key_limit
@integration_key_required
def me():
    """The client this key belongs to: plan, contract status, certificate status and validity."""
    client = g.integration_client
    plan, software = db.session.execute(
        select(Plan, Software).join(Software, Software.id == Plan.software_id).where(Plan.id == client.plan_id)
    ).one()
    return {
        "client": {"id": client.id, "legal_name": client.legal_name, "trade_name": client.trade_name,
                   "cnpj": client.cnpj},
        "plan": {"id": plan.id, "name": plan.name, "software": {"id": software.id, "name": software.name}},
        "contract": {"status": ContractStatus(client.status).value},
        "certificate": services.certificate_summary(services.active_certificate(client.id), utcnow()),
    }


@bp.get("/certificate")
@per_key_limit
@integration_key_required
@writes_on_get  # each download is audited: the GET's transaction takes the write lock up front
def certificate():
    """The client's A1 certificate (PFX, base64) and its password, for signing; audited."""
    client = g.integration_client
    cert = services.active_certificate(client.id)
    if cert is None:
        raise ApiError(404, "no_certificate", _("Nenhum certificado digital foi enviado para este cliente."))
    pfx, password = services.decrypt_certificate(cert)
    services.record_certificate_download(cert, g.integration_key)
    body = {
        **services.certificate_summary(cert, utcnow()),
        "pfx_base64": base64.b64encode(pfx).decode("ascii"),
        "password": password,
    }
    return body, 200, {"Cache-Control": "no-store"}


# -- OpenAPI ----------------------------------------------------------------------------------------

_SECURITY = [{"integrationKey": []}]
_STATUS = {"type": "string", "enum": [s.value for s in ContractStatus]}

schema("IntegrationMe", {
    "type": "object",
    "required": ["client", "plan", "contract", "certificate"],
    "properties": {
        "client": {"type": "object", "required": ["id", "legal_name", "trade_name", "cnpj"], "properties": {
            "id": {"type": "integer"}, "legal_name": {"type": "string"}, "trade_name": {"type": "string"},
            "cnpj": {"type": "string"}}},
        "plan": {"type": "object", "required": ["id", "name", "software"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "software": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}},
        "contract": {"type": "object", "required": ["status"], "properties": {"status": _STATUS}},
        "certificate": {"$ref": "#/components/schemas/CertificateStatus"},
    },
})
schema("IntegrationCertificate", {
    "allOf": [
        {"$ref": "#/components/schemas/CertificateStatus"},
        {"type": "object", "required": ["pfx_base64", "password"], "properties": {
            "pfx_base64": {"type": "string", "contentEncoding": "base64", "description": "O arquivo PFX"},
            "password": {"type": "string", "format": "password", "description": "A senha do PFX"}}},
    ],
})
document("/api/v1/integration/ping", "get", {
    "summary": "Teste de conectividade (sem chave)",
    "operationId": "integrationPing",
    "security": [],
    "tags": ["integração"],
    "responses": {"200": {"description": "Serviço no ar", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"ok": {"type": "boolean"}}}}}}},
})
document("/api/v1/integration/me", "get", {
    "summary": "Cliente da chave: plano, situação do contrato e do certificado",
    "operationId": "integrationMe",
    "security": _SECURITY,
    "tags": ["integração"],
    "responses": {
        "200": {"description": "Dados do cliente", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/IntegrationMe"}}}},
        **error_responses(401, 403, 429),
    },
})
document("/api/v1/integration/certificate", "get", {
    "summary": "Certificado A1 do cliente (PFX e senha) para assinar documentos",
    "description": "Cada download fica registrado na auditoria (sem o arquivo nem a senha). "
                   "403 com contrato bloqueado ou cancelado; 404 (no_certificate) se não houver certificado.",
    "operationId": "integrationCertificate",
    "security": _SECURITY,
    "tags": ["integração"],
    "responses": {
        "200": {"description": "Certificado", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/IntegrationCertificate"}}}},
        **error_responses(401, 403, 404, 429),
    },
})
