"""Panel tabs "Certificado digital" and "Chave de integração", and the routes their forms post to."""

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select

from certificates import services
from certificates.models import IntegrationKey
from certificates.pfx import DEFAULT_MAX_BYTES, CertificateError
from core import ratelimit
from core.db import db, utcnow
from core.extensions import limiter
from core.permissions import CERTIFICATES_MANAGE, INTEGRATION_KEYS_MANAGE, require
from core.validators import ValidationError, format_cnpj
from partner.access import get_client_for
from partner.tabs import (
    ClientTab,
    DashboardColumn,
    DashboardFilter,
    register_dashboard_column,
    register_dashboard_filter,
    register_tab,
)

bp = Blueprint("certificates", __name__)

CERT_TAB = "certificado"
KEY_TAB = "chave-integracao"


def certificate_tab_context(client) -> dict:
    now = utcnow()
    active = services.active_certificate(client.id)
    return {
        "cert": active,
        "cert_status": services.certificate_status(active, now).value,
        "cert_days_left": services.days_left(active.not_after, now) if active else None,
        "history": services.certificate_history(client.id),
        "errors": {},
        "max_kb": DEFAULT_MAX_BYTES // 1024,
    }


def key_tab_context(client) -> dict:
    """Only reads: a GET never creates a key (the "Gerar chave" button posts to ``create_key``)."""
    return {
        "key": services.current_integration_key(client.id),
        "in_grace": services.keys_in_grace(client.id),
        "grace_choices": services.GRACE_CHOICES,
        "errors": {},
    }


register_tab(ClientTab(CERT_TAB, _l("Certificado digital"), "certificates/_tab_certificate.html",
                       CERTIFICATES_MANAGE, order=10, context=certificate_tab_context))
register_tab(ClientTab(KEY_TAB, _l("Chave de integração"), "certificates/_tab_integration_key.html",
                       INTEGRATION_KEYS_MANAGE, order=20, context=key_tab_context))
register_dashboard_column(DashboardColumn("certificate", _l("Certificado"), services.certificate_expiry_expression,
                                          services.certificate_cell, order=60))
register_dashboard_filter(DashboardFilter(
    "certificado", _l("Qualquer certificado"),
    {services.CertificateStatus.VALID.value: _l("Certificado válido"),
     services.CertificateStatus.EXPIRING.value: _l("Certificado expira em até 30 dias"),
     services.CertificateStatus.EXPIRED.value: _l("Certificado vencido"),
     services.CertificateStatus.NONE.value: _l("Sem certificado")},
    services.certificate_filter_condition, order=60,
))


@bp.app_template_filter("localdate")
def localdate(value) -> str:
    """DD/MM/AAAA in the user's time zone (Brasília by default): a certificate valid until
    02:00 UTC on the 10th is, for the person reading it, valid until the 9th."""
    return to_user_timezone(value).strftime("%d/%m/%Y") if value is not None else ""


@bp.app_template_filter("localdatetime")
def localdatetime(value) -> str:
    return to_user_timezone(value).strftime("%d/%m/%Y %H:%M") if value is not None else ""


def _back(client, tab):
    return redirect(url_for("partner.manage_client", client_id=client.id, tab=tab) + "#configuracoes")


def _conflict():
    message = _("Outra pessoa alterou este cliente ao mesmo tempo. Volte à página do cliente e confira.")
    return render_template("error.html", code=409, message=message), 409


def _no_store(response):
    """Pages showing a secret must not be kept by the browser or a proxy."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- certificate --------------------------------------------------------------------------------------


def _uploaded_file() -> bytes | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    # Read one byte past the limit: enough for inspect_pfx to say "too large" without buffering more.
    return upload.stream.read(DEFAULT_MAX_BYTES + 1)


@bp.route("/clientes/<client_id>/certificado", methods=["POST"])
@require(CERTIFICATES_MANAGE)
def upload_certificate(client_id):
    client = get_client_for(current_user, client_id)
    if not ratelimit.hit(current_app.config["PFX_UPLOAD_RATE_LIMIT"], "pfx-upload", f"user:{current_user.id}"):
        context = certificate_tab_context(client) | {"errors": {"file": services.upload_rate_limited_message()}}
        return render_template("certificates/upload.html", client=client, **context), 429
    try:
        cert = services.upload_certificate(
            client, _uploaded_file(), request.form.get("password", ""), actor=current_user._get_current_object()
        )
    except ValidationError as exc:
        errors = exc.fields
    except CertificateError as exc:
        errors = {services.error_field(exc): services.certificate_error_message(exc)}
    except services.ConcurrentChangeError:
        return _conflict()
    else:
        flash(_("Certificado de %(cnpj)s enviado e validado.", cnpj=format_cnpj(cert.cnpj)), "success")
        return _back(client, CERT_TAB)
    context = certificate_tab_context(client) | {"errors": errors}
    return render_template("certificates/upload.html", client=client, **context), 422


# -- integration key ------------------------------------------------------------------------------------


def _current_key(client) -> IntegrationKey:
    key = services.current_integration_key(client.id)
    if key is None:
        abort(404)
    return key


def _reveal_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reveal_rate_key() -> str:
    # Per user: re-typing the password is a password check, limited like the login form.
    return f"reveal:{getattr(current_user, 'id', None) or get_remote_address()}"


@bp.route("/clientes/<client_id>/chave-integracao/revelar", methods=["POST"])
@limiter.limit(_reveal_limit, key_func=_reveal_rate_key)
@require(INTEGRATION_KEYS_MANAGE)
def reveal_key(client_id):
    client = get_client_for(current_user, client_id)
    key = _current_key(client)
    try:
        plaintext = services.reveal_integration_key(key, current_user._get_current_object(),
                                                    request.form.get("password", ""))
    except ValidationError as exc:
        return render_template("certificates/reveal.html", client=client, key=key, errors=exc.fields), 422
    return _no_store(render_template("certificates/key_shown.html", client=client, key=key, plaintext=plaintext,
                                     new=False))


@bp.route("/clientes/<client_id>/chave-integracao/criar", methods=["POST"])
@require(INTEGRATION_KEYS_MANAGE)
def create_key(client_id):
    """The first key of a client, shown once."""
    client = get_client_for(current_user, client_id)
    try:
        key, plaintext = services.create_integration_key(client, actor=current_user._get_current_object())
    except ValidationError as exc:
        flash(exc.fields["key"], "warning")
        return _back(client, KEY_TAB)
    return _no_store(render_template("certificates/key_shown.html", client=client, key=key, plaintext=plaintext,
                                     new=True, created=True))


@bp.route("/clientes/<client_id>/chave-integracao/gerar", methods=["POST"])
@require(INTEGRATION_KEYS_MANAGE)
def rotate_key(client_id):
    client = get_client_for(current_user, client_id)
    try:
        rotated = services.rotate_integration_key(
            client, request.form.get("grace_seconds", ""), actor=current_user._get_current_object()
        )
    except ValidationError as exc:
        context = key_tab_context(client) | {"errors": exc.fields}
        return render_template("certificates/rotate.html", client=client, **context), 422
    except services.ConcurrentChangeError:
        return _conflict()
    return _no_store(render_template("certificates/key_shown.html", client=client, key=rotated.key,
                                     plaintext=rotated.plaintext, new=True, rotated=rotated))


@bp.route("/clientes/<client_id>/chave-integracao/<int:key_id>/encerrar", methods=["POST"])
@require(INTEGRATION_KEYS_MANAGE)
def revoke_key(client_id, key_id):
    client = get_client_for(current_user, client_id)
    key = db.session.scalar(
        select(IntegrationKey).where(IntegrationKey.id == key_id, IntegrationKey.client_id == client.id)
    )
    if key is None:
        abort(404)
    try:
        services.revoke_integration_key(key, actor=current_user._get_current_object())
    except ValidationError as exc:
        flash(exc.fields["key"], "danger")
        return _back(client, KEY_TAB)
    flash(_("A chave antiga (final %(last4)s) deixou de funcionar.", last4=key.last4), "success")
    return _back(client, KEY_TAB)
