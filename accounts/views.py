"""Login, logout, password change, forgotten password and first access, language switch."""

import hashlib
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts import services, sessions
from accounts.tokens import FIRST_ACCESS, RESET, TokenInvalid, load_user_token
from core import audit
from core.extensions import limiter
from core.permissions import Role
from core.validators import ValidationError

bp = Blueprint("accounts", __name__)


def home_for(user) -> str:
    if user.role in (Role.ADMIN, Role.FINANCE):
        return url_for("admin.index")
    if user.role == Role.CLIENT:
        return url_for("partner.client_area")
    if user.role == Role.ACCOUNTANT and "portal.notes" in current_app.view_functions:
        return url_for("portal.notes")  # the accountants' portal (an endpoint name: accounts imports nothing above)
    return url_for("partner.dashboard")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    # browsers read "/\host" as "//host" and drop tabs and newlines: refuse both
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    return target


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("accounts.login"))


@bp.route("/healthz")
def healthz():
    """Liveness probe for load balancers and ``make run``; touches nothing."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit():
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_key() -> str:
    """The account a login or reset aims at, from any address (a hash: no e-mail in the store)."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # per address
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)  # per account
def login():
    if request.method == "POST":
        user = services.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            return render_template(
                "accounts/login.html", error=_("E-mail ou senha incorretos."),
                email=request.form.get("email", "")[:254],
            ), 401
        sessions.log_in(user, remember=bool(request.form.get("remember")))
        audit.record("user.login", user, actor=user, partner_id=user.partner_id)
        return redirect(_safe_next(request.args.get("next")) or home_for(user))
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("accounts/login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.log_out()
    flash(_("Você saiu da sua conta."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/senha", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        try:
            services.change_password(
                current_user, request.form.get("current_password", ""),
                request.form.get("new_password", ""), request.form.get("confirm_password", ""),
            )
        except ValidationError as exc:
            errors = exc.fields
        else:
            flash(_("Senha alterada com sucesso"), "success")
            return redirect(request.form.get("back") == "profile" and url_for("partner.profile", tab="senha")
                            or url_for("accounts.change_password"))
    status = 422 if errors else 200
    return render_template("accounts/change_password.html", errors=errors), status


@bp.route("/esqueci-senha", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key)  # no mail bombing of one person
def forgot_password():
    if request.method == "POST":
        services.send_password_reset(request.form.get("email", "")[:254])
        flash(_("Se o e-mail estiver cadastrado, enviamos um link para redefinir a senha."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html")


def _set_password_page(token: str, purpose: str, title: str, success: str):
    try:
        user = load_user_token(token, purpose)
    except TokenInvalid as exc:
        message = (
            _("Este link expirou. Peça um novo em “Esqueceu a senha?”.")
            if exc.expired
            else _("Este link é inválido ou já foi usado. Peça um novo em “Esqueceu a senha?”.")
        )
        return render_template("error.html", code=400, message=message), 400
    errors = {}
    if request.method == "POST":
        try:
            services.check_new_password(request.form.get("new_password", ""), request.form.get("confirm_password", ""))
        except ValidationError as exc:
            errors = exc.fields
        else:
            services.set_password(user, request.form["new_password"], action=f"user.{purpose.replace('-', '_')}")
            flash(success, "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", errors=errors, title=title, email=user.email), (
        422 if errors else 200
    )


@bp.route("/redefinir-senha/<token>", methods=["GET", "POST"])
def reset_password(token):
    return _set_password_page(token, RESET, _("Redefinir senha"), _("Senha redefinida. Entre com a nova senha."))


@bp.route("/primeiro-acesso/<token>", methods=["GET", "POST"])
def first_access(token):
    return _set_password_page(token, FIRST_ACCESS, _("Primeiro acesso: defina sua senha"),
                              _("Senha definida. Entre com seu e-mail e a nova senha."))


@bp.route("/confirmar-email/<token>", methods=["GET", "POST"])
def confirm_email_change(token):
    """The link sent to a client's new address: the login moves there once its owner confirms."""
    try:
        user, new_email = services.load_email_change(token)
    except services.EmailChangeInvalid as exc:
        return render_template("error.html", code=400, message=exc.message), 400
    errors = {}
    if request.method == "POST":
        try:
            services.confirm_email_change(user, new_email, request.form.get("password", ""))
        except ValidationError as exc:
            errors = exc.fields
        else:
            if current_user.is_authenticated and current_user.id == user.id:
                sessions.log_out()
            flash(_("E-mail de acesso alterado para %(email)s. Entre com o novo e-mail.", email=new_email)
                  if user.password_hash else
                  _("E-mail confirmado. Enviamos para %(email)s o link para definir sua senha.", email=new_email),
                  "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/confirm_email.html", user=user, new_email=new_email, errors=errors), (
        422 if errors else 200)


@bp.route("/idioma/<lang>", methods=["POST"])
def set_language(lang):
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")) or url_for("accounts.index"))
