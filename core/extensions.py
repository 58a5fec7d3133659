"""Extension singletons, bound to the app in ``app.create_app``."""

from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from core.db import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale():
    from flask import current_app, has_request_context

    if not has_request_context():  # Celery tasks, CLI, services called from tests
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "pt_BR"


babel = Babel()

__all__ = ["babel", "csrf", "db", "limiter", "login_manager", "migrate", "select_locale"]
