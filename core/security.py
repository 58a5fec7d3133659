"""Request hardening in one place: response security headers, ids bounded to what the database can
compare, and NUL bytes refused in any submitted text.

``init_security(app)`` runs in the factory before the blueprints are registered (the bounded ``int``
converter must be in the URL map when their rules are bound)."""

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter

#: The largest id a row can have: every id column is INTEGER, 32-bit on PostgreSQL (a larger value
#: fails the query there: "integer out of range"; SQLite's driver raises OverflowError past 64 bits).
#: A larger id answers 404 before it reaches a query.
MAX_ID = 2**31 - 1

NUL_MESSAGE = _l("O texto enviado contém caracteres inválidos (NUL). Remova-os e tente novamente.")

#: Callbacks authenticated by their signature alone: the payload is verified byte for byte and never
#: shown; refusing it would only make the sender retry.
_NUL_EXEMPT_PREFIXES = ("/billing/webhooks/",)


class BoundedIdConverter(IntegerConverter):
    """``<int:…>``: a positive id that fits the database; anything larger (or 0) is a 404."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_id(value) -> int | None:
    """``value`` as a database id, or None when it is not one (not a number, negative, too large)."""
    if isinstance(value, str):
        value = value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():  # JSON's 5.0
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


class NulByteError(BadRequest):
    description = "nul_byte"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def large_upload(config_key: str):
    """Mark a view whose form takes big files: its body may reach ``config[config_key]`` (plus the other
    fields) instead of MAX_CONTENT_LENGTH. Put it right under the route decorator: the checks below read
    the form before the view runs, so the limit must be known before that."""

    def mark(view):
        view.upload_limit_config = config_key
        return view

    return mark


def _upload_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    key = getattr(view, "upload_limit_config", None)
    if key:
        request.max_content_length = current_app.config[key] + 64 * 1024


def _refuse_nul_bytes() -> None:
    """No text with NUL reaches a form, a query or the database (PostgreSQL refuses it with an error,
    SQLite stores it and cuts the text short when shown): 400 with a Portuguese message."""
    if request.path.startswith(_NUL_EXEMPT_PREFIXES):
        return
    if "\x00" in request.path or _has_nul(request.view_args or {}):
        raise NulByteError()
    for multi in (request.args, request.form):
        for key, values in multi.lists():
            if _has_nul(key) or any(_has_nul(v) for v in values):
                raise NulByteError()
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        # JSON spells a NUL as \u0000; only a real one in a decoded string counts.
        if _has_nul(request.get_json(silent=True)):
            raise NulByteError()


def _refuse_out_of_range_ids() -> None:
    """Ids typed as text in a route (``/clientes/<client_id>``) or in Flask-Admin's ``?id=``: a number
    too large for the database, or an admin id that is no number, is a row that cannot exist (404),
    not a query that fails."""
    candidates = [v for k, v in (request.view_args or {}).items() if k == "id" or k.endswith("_id")]
    for value in candidates:
        if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > MAX_ID:
            raise NotFound()
    # Flask-Admin passes ?id= to the database as text: PostgreSQL fails on "1e400" or "-1x".
    if request.path.startswith("/admin/") and any(parse_id(v) is None for v in request.args.getlist("id")):
        raise NotFound()


def content_security_policy() -> str:
    """No inline script anywhere (every script is a file under /static); Stripe's hosts only when
    Stripe is configured. Inline styles stay allowed (Bootstrap's components and a few templates)."""
    stripe = bool(current_app.config.get("STRIPE_PUBLISHABLE_KEY"))
    script = "'self' https://js.stripe.com" if stripe else "'self'"
    frames = "https://js.stripe.com https://hooks.stripe.com" if stripe else "'none'"
    connect = "'self' https://api.stripe.com" if stripe else "'self'"
    return "; ".join((
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src {connect}",
        f"frame-src {frames}",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ))


def _carries_a_token() -> bool:
    """Pages whose URL is a credential (signup, acceptance, reset and first-access links)."""
    return "token" in (request.view_args or {})


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer" if _carries_a_token() else "strict-origin-when-cross-origin")
    if current_app.config.get("PRODUCTION"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _nul_byte_response(_exc):
    message = str(NUL_MESSAGE)
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": "invalid_text", "message": message, "fields": {}}}), 400
    return render_template("error.html", code=400, message=message), 400


def init_security(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIdConverter
    app.register_error_handler(NulByteError, _nul_byte_response)
    app.before_request(_upload_limit)
    app.before_request(_refuse_nul_bytes)
    app.before_request(_refuse_out_of_range_ids)
    app.after_request(_security_headers)
