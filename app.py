"""Revenda: application factory (config → extensions → blueprints → admin → CLI)."""

import importlib
import logging
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core import ratelimit  # noqa: F401 - registers the shared "revenda+sqlite" limit storage (before init_app)
from core.config import Config, check_production
from core.extensions import babel, csrf, db, limiter, login_manager, migrate, select_locale

log = logging.getLogger("revenda")

# Every domain's models, so metadata is whole for migrations and admin.
MODEL_MODULES = (
    "accounts.models",
    "accounts.twofactor",
    "partner.models",
    "core.audit",
    "core.mail",
    "contracts.models",
    "certificates.models",
    "billing.models",
    "fiscal.models",
    "fiscal.monitor",
    "webhooks.models",
    "orders.models",
)
TASK_MODULES = ("core.mail_tasks", "contracts.tasks", "certificates.tasks", "billing.tasks", "fiscal.tasks",
                "webhooks.tasks", "orders.tasks")
#: Each domain's words for its audit events (core/audit_words.py): the panel's history and the staff audit.
AUDIT_WORD_MODULES = (
    "accounts.audit_words",
    "partner.audit_words",
    "contracts.audit_words",
    "certificates.audit_words",
    "billing.audit_words",
    "webhooks.audit_words",
    "orders.audit_words",
)
BLUEPRINTS = (
    "accounts.views:bp",
    "accounts.twofactor_views:bp",
    "partner.views:bp",
    "contracts.views:bp",
    "certificates.views:bp",
    "billing.views:bp",
    "fiscal.views:bp",
    "portal.views:bp",
    "webhooks.views:bp",
    "orders.views:bp",
    "api.partner_api:bp",
    "api.integration_api:bp",
)
#: Higher domains' reactions to lower domains' signals (blinker), connected on import.
RECEIVER_MODULES = ("contracts.receivers", "billing.receivers", "webhooks.receivers", "orders.receivers")
#: Each module's ``register(admin)`` adds its staff views, in this (menu) order.
ADMIN_MODULES = ("partner.admin", "accounts.admin", "core.admin", "contracts.admin", "certificates.admin",
                 "billing.admin", "orders.admin")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(Config().as_dict())
    if config:
        app.config.from_mapping(config)
    check_production(app.config)
    app.instance_path = app.config["INSTANCE_PATH"]

    for module in MODEL_MODULES:
        importlib.import_module(module)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True, compare_type=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    from core.security import init_security

    init_security(app)  # before the blueprints: their <int:…> rules take its bounded converter

    from core.tasks import init_celery

    for module in TASK_MODULES:
        importlib.import_module(module)
    init_celery(app)

    for spec in BLUEPRINTS:
        module_path, name = spec.split(":")
        app.register_blueprint(getattr(importlib.import_module(module_path), name))
    for module in RECEIVER_MODULES:
        importlib.import_module(module)

    for module in AUDIT_WORD_MODULES:
        importlib.import_module(module)

    from core.admin import init_admin

    admin = init_admin(app)
    for module in ADMIN_MODULES:
        importlib.import_module(module).register(admin)
    _register_request_boundary(app)
    _register_error_handlers(app)
    _register_template_helpers(app)

    from cli import register_cli

    register_cli(app)
    return app


@login_manager.user_loader
def _load_user(login_id):
    from accounts.sessions import load_user

    return load_user(login_id)  # a live server-side login of an active user, else anonymous


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/billing/webhooks")


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    return response


def _register_request_boundary(app: Flask) -> None:
    """One place commits: after a successful request; anything else rolls back."""

    @app.after_request
    def commit_or_rollback(response):
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.warning("integrity error at commit on %s", request.path)
            if _wants_json():
                return json_error(409, "conflict", _("Conflito com um registro existente."))
            return app.make_response(
                (render_template("error.html", code=409, message=_("Conflito com um registro existente.")), 409)
            )
        return response

    @app.teardown_request
    def rollback_leftovers(exc):
        if exc is not None:
            db.session.rollback()


ERROR_MESSAGES = {
    400: _l("Requisição inválida."),
    401: _l("Autenticação necessária."),
    403: _l("Você não tem permissão para acessar esta página."),
    404: _l("Página não encontrada."),
    405: _l("Método não permitido."),
    409: _l("Conflito com um registro existente."),
    413: _l("Arquivo ou conteúdo grande demais."),
    422: _l("Dados inválidos."),
    429: _l("Muitas tentativas. Aguarde um pouco e tente novamente."),
}


#: What an error page is called, in its <title> and <h1> (the code alone told people nothing).
ERROR_TITLES = {
    400: _l("Requisição inválida"),
    401: _l("Autenticação necessária"),
    403: _l("Acesso negado"),
    404: _l("Página não encontrada"),
    405: _l("Método não permitido"),
    409: _l("Conflito com um registro existente"),
    413: _l("Conteúdo grande demais"),
    422: _l("Dados inválidos"),
    429: _l("Muitas tentativas"),
    500: _l("Erro inesperado"),
}


def error_title(code) -> str:
    return str(ERROR_TITLES.get(code, _l("Erro")))


def _register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        db.session.rollback()
        message = _("Sua sessão expirou ou o formulário é inválido. Recarregue a página e tente novamente.")
        if _wants_json():
            return json_error(400, "csrf", message)
        return render_template("error.html", code=400, message=message, title=_("Sessão expirada")), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        code = exc.code or 500
        message = str(ERROR_MESSAGES.get(code, _l("Erro.")))
        if _wants_json():
            return json_error(code, {401: "unauthorized", 404: "not_found", 429: "rate_limited"}.get(code, "http_error"), message)
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def unexpected(exc):
        db.session.rollback()
        log.exception("unexpected error on %s", request.path)
        message = _("Ocorreu um erro inesperado. Nossa equipe foi avisada; tente novamente.")
        if _wants_json():
            return json_error(500, "internal_error", message)
        return render_template("error.html", code=500, message=message), 500


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from core.money import format_brl
    from core.permissions import has_permission
    from core.validators import format_cep, format_cnpj, format_phone

    def fmt_date(value):
        if value is None:
            return ""
        return value.strftime("%d/%m/%Y")

    def fmt_datetime(value):
        if value is None:
            return ""
        from flask_babel import to_user_timezone

        return to_user_timezone(value).strftime("%d/%m/%Y %H:%M")

    app.jinja_env.filters.update(
        brl=format_brl, cnpj=format_cnpj, cep=format_cep, phone=format_phone,
        date=fmt_date, datetime=fmt_datetime,
    )

    @app.context_processor
    def inject():
        return {
            "can": lambda permission: has_permission(current_user, permission),
            "current_locale": str(select_locale()),
            "has_endpoint": lambda name: name in app.view_functions,
            "error_title": error_title,
        }
