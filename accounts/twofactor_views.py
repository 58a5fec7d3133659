"""Two-factor authentication pages: the login's second step, enrolment, recovery codes, disabling;
and the rule that a user who must use 2FA and has not enrolled can do nothing else.

The login view (accounts/views.py) hands over to the second step through
``twofactor.start_pending_login``: nobody is logged in (``accounts.sessions.log_in``) before the code."""

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts import services, sessions, twofactor
from accounts.views import _login_limit, home_for
from core import audit
from core.extensions import limiter
from core.ratelimit import hit
from core.validators import ValidationError

bp = Blueprint("twofactor", __name__)

#: What a user who must enrol may still reach (besides these pages).
OPEN_ENDPOINTS = {"static", "admin.static", "accounts.logout", "accounts.set_language", "accounts.healthz",
                  "accounts.login", "accounts.index"}


# -- the login's second step ----------------------------------------------------------------------


def _code_limit():
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _verify_page(error=None, status=200, remember_browser=False):
    return render_template("accounts/two_factor_verify.html", error=error, remember_browser=remember_browser,
                           remember_days=twofactor.REMEMBER_DAYS), status


@bp.route("/login/verificacao", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])  # per address, like the password step
def verify_login():
    user, pending = twofactor.pending_login()
    if user is None:
        twofactor.forget_pending_login()
        flash(_("Sua verificação expirou. Entre de novo com e-mail e senha."), "info")
        return redirect(url_for("accounts.login"))
    if request.method == "GET":
        return _verify_page()
    remember_browser = bool(request.form.get("remember_browser"))
    if not hit(_code_limit(), "two-factor", f"user:{user.id}"):  # per account, from any address
        return _verify_page(_("Muitas tentativas de código. Aguarde alguns minutos e tente novamente."), 429,
                            remember_browser)
    kind = twofactor.verify(user, request.form.get("code"))
    if kind is None:
        return _verify_page(_("Código inválido ou expirado. Digite o código de 6 dígitos do aplicativo ou um "
                              "código de recuperação."), 422, remember_browser)
    twofactor.forget_pending_login()
    sessions.log_in(user, remember=pending["remember"])
    audit.record("user.login", user, actor=user, partner_id=user.partner_id, after={"second_factor": kind})
    if kind == "recovery":
        flash(_("Você entrou com um código de recuperação; restam %(n)s. Gere novos códigos se precisar.",
                n=twofactor.remaining_recovery_codes(user)), "warning")
    target = pending.get("next") or home_for(user)
    if not pending.get("next") and len(services.usable_memberships(user)) > 1:
        target = url_for("accounts.choose_membership")  # several firms: which one now?
    response = make_response(redirect(target))
    if remember_browser:
        response.set_cookie(twofactor.REMEMBER_COOKIE, twofactor.remember_browser(user),
                            **twofactor.remember_cookie_args())
    return response


# -- enforcement ---------------------------------------------------------------------------------


@bp.before_app_request
def _enrol_first():
    """A user who must use 2FA and has not enrolled is sent to enrolment from every page."""
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith("twofactor.") or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated or not twofactor.must_enroll(current_user):
        return None
    return redirect(url_for("twofactor.enable"))


# -- the account's 2FA page ------------------------------------------------------------------------


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _settings_page(errors=None, status=200, form=None):
    return render_template(
        "accounts/two_factor_settings.html", errors=errors or {}, form=form,
        enabled=twofactor.is_enabled(current_user),
        required=twofactor.is_required(current_user),
        remaining=twofactor.remaining_recovery_codes(current_user)), status


def _codes_page(codes):
    return _no_store(render_template("accounts/two_factor_codes.html", codes=codes, home=home_for(current_user)))


@bp.route("/conta/verificacao-em-duas-etapas")
@login_required
def settings():
    return _settings_page()


@bp.route("/conta/verificacao-em-duas-etapas/ativar", methods=["GET", "POST"])
@login_required
def enable():
    if twofactor.is_enabled(current_user):
        return redirect(url_for("twofactor.settings"))
    errors, status = {}, 200
    if request.method == "POST":
        if not hit(_code_limit(), "two-factor", f"user:{current_user.id}"):
            errors, status = {"code": _("Muitas tentativas de código. Aguarde alguns minutos e tente novamente.")}, 429
        else:
            try:
                codes = twofactor.enable(current_user, request.form.get("password"), request.form.get("code"))
            except ValidationError as exc:
                errors, status = exc.fields, 422
            else:
                flash(_("Verificação em duas etapas ativada."), "success")
                return _codes_page(codes)
    secret = twofactor.pending_secret(current_user)
    uri = twofactor.provisioning_uri(current_user, secret)
    page = render_template("accounts/two_factor_enable.html", errors=errors, secret=twofactor.format_secret(secret),
                           qr=twofactor.qr_data_uri(uri), required=twofactor.is_required(current_user))
    return _no_store((page, status))


@bp.route("/conta/verificacao-em-duas-etapas/codigos", methods=["POST"])
@login_required
def regenerate():
    try:
        codes = twofactor.regenerate_recovery_codes(current_user, request.form.get("password"))
    except ValidationError as exc:
        return _settings_page(exc.fields, 422, "regenerate")
    flash(_("Novos códigos de recuperação gerados; os anteriores deixaram de valer."), "success")
    return _codes_page(codes)


@bp.route("/conta/verificacao-em-duas-etapas/desativar", methods=["POST"])
@login_required
def disable():
    if not hit(_code_limit(), "two-factor", f"user:{current_user.id}"):
        return _settings_page({"code": _("Muitas tentativas de código. Aguarde alguns minutos e tente novamente.")},
                              429, "disable")
    try:
        twofactor.disable(current_user, request.form.get("password"), request.form.get("code"))
    except ValidationError as exc:
        return _settings_page(exc.fields, 422, "disable")
    flash(_("Verificação em duas etapas desativada."), "success")
    return redirect(url_for("twofactor.settings"))
