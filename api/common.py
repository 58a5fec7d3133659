"""Shared pieces of the JSON APIs: errors, body parsing, pagination, OpenAPI registry."""

import hashlib
from datetime import timedelta
from functools import wraps

from flask import Blueprint, after_this_request, current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import or_, update

from core.db import SAFE_METHODS, write_apart
from core.extensions import csrf, limiter
from core.validators import ValidationError

bp = Blueprint("partner_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _rate_limit_key() -> str:
    """Per token (its hash, never the token itself); anonymous callers per address."""
    token = bearer_token()
    return "token:" + hashlib.sha256(token.encode()).hexdigest() if token else "ip:" + (request.remote_addr or "")


limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="partner_api", key_func=_rate_limit_key)(bp)

MAX_JSON_BYTES = 64 * 1024
MAX_PAGE = 1_000_000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify({"error": {"code": code, "message": str(message), "fields": fields or {}}})
    response.status_code = status
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):
    return error_response(422, "validation_error", exc.message, {k: str(v) for k, v in exc.fields.items()})


def json_body() -> dict:
    """The request's JSON object, or a 422 (malformed, not an object) / 413 (too large)."""
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "payload_too_large", _("Conteúdo grande demais (máximo 64 KB)."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_json", _("O corpo deve ser um objeto JSON."))
    return data


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _token_required(find_token, bind):
    """A decorator: the request's bearer token, looked up by ``find_token`` (hashed tokens), else a 401;
    its use noted; ``bind(token)`` sets what the view reads on ``g``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from core.db import utcnow

            token = find_token(bearer_token() or "")
            if token is None:
                return error_response(401, "unauthorized", _("Token de API ausente ou inválido."))
            _note_token_use(token, utcnow())
            bind(token)
            g.api_actor_label = f"api:{token.prefix}"
            return view(*args, **kwargs)

        return wrapped

    return decorator


def partner_token_required(view):
    """Authenticate the partner by its API token; ``g.partner`` is set for the view."""
    from partner.services import api_token_for

    return _token_required(api_token_for, lambda token: setattr(g, "partner", token.partner))(view)


def accountant_token_required(view):
    """Authenticate an accountant by its API token (``rvc_…``); ``g.accountant_id`` is set for the view.
    What the accountant may read is decided per request from its accepted companies (partner.accountants)."""
    from partner.services import accountant_token_for

    return _token_required(accountant_token_for, lambda token: setattr(g, "accountant_id", token.user_id))(view)


#: "Last used" is kept to the minute: at most one write a minute per token.
LAST_USED_EVERY = timedelta(seconds=60)


def _note_token_use(token, now) -> None:
    """Keep the token's "last used" without making a read write: a request that changes something
    records it in its own transaction; a GET, when due, in a short one of its own after the answer
    is ready (core.db.write_apart), which waits for the write lock and never fails the GET."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    if request.method not in SAFE_METHODS:
        token.last_used_at = now
        return
    from partner.models import ApiToken

    note = (
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now)
    )

    @after_this_request
    def _record(response):
        if response.status_code < 400:
            write_apart(note)
        return response


def page_params() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = int(request.args.get("per_page", 25))
    except ValueError:
        raise ApiError(422, "invalid_pagination", _("page e per_page devem ser números inteiros.")) from None
    if page > MAX_PAGE:  # the offset must fit the database's integer
        raise ApiError(422, "invalid_pagination", _("page deve ser no máximo %(n)s.", n=MAX_PAGE), {"page": _("Grande demais.")})
    per_page = min(max(per_page, 1), current_app.config["API_MAX_PER_PAGE"])
    return page, per_page


def iso(value):
    return value.isoformat() if value is not None else None


# -- OpenAPI: each endpoint module documents its own paths and schemas ------------------------------

OPENAPI_PATHS: dict[str, dict] = {}
OPENAPI_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
}


def document(path: str, method: str, spec: dict) -> None:
    OPENAPI_PATHS.setdefault(path, {})[method.lower()] = spec


def schema(name: str, spec: dict) -> None:
    OPENAPI_SCHEMAS[name] = spec


def error_responses(*codes: int) -> dict:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    descriptions = {400: "Bad request", 401: "Missing or invalid token", 403: "Forbidden", 404: "Not found",
                    409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Invalid input",
                    429: "Rate limited"}
    return {str(code): {"description": descriptions.get(code, "Error"), **ref} for code in codes}
