"""Panel screens: the partner's "Integrações / Webhooks" and the accountant's (under /contador).

Both list the owner's endpoints, create one (the secret shown once), delete (with confirmation),
re-enable a disabled one and show its deliveries with a resend button. Every endpoint and delivery is
loaded through its owner: another owner's id answers 404."""


from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.db import db
from core.permissions import API_TOKENS_MANAGE, PORTAL_VIEW, require
from core.security import parse_id
from core.validators import ValidationError
from partner import services as partner_services
from partner.accountants import accepted_client_ids
from partner.models import ApiToken, Client
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

bp = Blueprint("webhooks", __name__)


#: The accountant's pages belong to the portal (/contador): its permission.
accountant_required = require(PORTAL_VIEW)


# -- who owns what -------------------------------------------------------------------------------


class _Owner:
    """The current user's side: a partner's manager or an accountant."""

    def __init__(self, kind: str):
        self.kind = kind
        self.page = f"webhooks.{kind}_page"
        self.prefix = f"webhooks.{kind}_"

    def endpoints_query(self):
        if self.kind == "partner":
            return services.partner_endpoints(current_user.partner_id)
        return services.accountant_endpoints(current_user.id)

    def endpoint(self, endpoint_id) -> WebhookEndpoint:
        number = parse_id(endpoint_id)
        endpoint = db.session.get(WebhookEndpoint, number) if number is not None else None
        owned = endpoint is not None and (
            endpoint.partner_id == current_user.partner_id if self.kind == "partner"
            else endpoint.user_id == current_user.id)
        if not owned or (self.kind == "partner" and current_user.partner_id is None):
            abort(404)
        return endpoint

    def delivery(self, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
        number = parse_id(delivery_id)
        delivery = db.session.get(WebhookDelivery, number) if number is not None else None
        if delivery is None or delivery.endpoint_id != endpoint.id:
            abort(404)
        return delivery

    def companies(self) -> list:
        """The accountant's accepted companies (for "one company or all")."""
        if self.kind != "accountant":
            return []
        return db.session.scalars(select(Client).where(Client.id.in_(accepted_client_ids(current_user.id)))
                                  .order_by(Client.legal_name)).all()

    def create(self, form):
        if self.kind == "partner":
            return services.create_endpoint(url=form.get("url"), events=form.getlist("events"),
                                            partner_id=current_user.partner_id, actor=current_user)
        client_id = None
        if form.get("client_id"):
            client_id = parse_id(form.get("client_id"))
            if client_id not in {c.id for c in self.companies()}:
                raise ValidationError({"client_id": _("Escolha uma das suas empresas.")})
        return services.create_endpoint(url=form.get("url"), events=form.getlist("events"),
                                        user_id=current_user.id, client_id=client_id, actor=current_user)

    def events(self):
        allowed = services.EVENTS if self.kind == "partner" else services.ACCOUNTANT_EVENTS
        return [(code, services.EVENTS[code]) for code in allowed]


PARTNER, ACCOUNTANT = _Owner("partner"), _Owner("accountant")


def _list(owner: _Owner, *, errors=None, form=None, secret=None, status=200, new_token=None, token_errors=None):
    endpoints = db.session.scalars(owner.endpoints_query()).all()
    tokens = partner_services.accountant_tokens(current_user.id) if owner.kind == "accountant" else []
    response = make_response(render_template(
        "webhooks/list.html", owner=owner, endpoints=endpoints, errors=errors or {}, form=form or {},
        chosen=set(form.getlist("events")) if form else set(), secret=secret, events=owner.events(),
        companies=owner.companies(), labels=services.EVENTS, tokens=tokens, new_token=new_token,
        token_errors=token_errors or {}), status)
    if secret or new_token:
        response.headers["Cache-Control"] = "no-store"  # the secret is shown once: no copy in any cache
    return response


def _create(owner: _Owner):
    try:
        _endpoint, secret = owner.create(request.form)
    except ValidationError as exc:
        return _list(owner, errors=exc.fields, form=request.form, status=422)
    return _list(owner, secret=secret, status=201)


def _detail(owner: _Owner, endpoint_id):
    endpoint = owner.endpoint(endpoint_id)
    deliveries = services.deliveries_of(endpoint, limit=50, before_id=parse_id(request.args.get("antes")))
    return render_template("webhooks/detail.html", owner=owner, endpoint=endpoint, deliveries=deliveries,
                           labels=services.EVENTS)


def _delete(owner: _Owner, endpoint_id):
    services.delete_endpoint(owner.endpoint(endpoint_id), actor=current_user)
    flash(_("Webhook excluído."), "success")
    return redirect(url_for(owner.page))


def _enable(owner: _Owner, endpoint_id):
    endpoint = owner.endpoint(endpoint_id)
    services.enable_endpoint(endpoint, actor=current_user)
    flash(_("Webhook reativado."), "success")
    return redirect(url_for(owner.prefix + "detail", endpoint_id=endpoint.id))


def _resend(owner: _Owner, endpoint_id, delivery_id):
    endpoint = owner.endpoint(endpoint_id)
    delivery = owner.delivery(endpoint, delivery_id)
    try:
        services.resend(delivery, actor=current_user)
    except services.WebhookError as exc:
        flash(exc.message, "error")
        return redirect(url_for(owner.prefix + "detail", endpoint_id=endpoint.id)), 303
    flash(_("Reenvio agendado: a entrega sai em instantes com o mesmo identificador."), "success")
    return redirect(url_for(owner.prefix + "detail", endpoint_id=endpoint.id))


# -- the partner's pages -------------------------------------------------------------------------


@bp.get("/integracoes/webhooks")
@require(API_TOKENS_MANAGE)
def partner_page():
    return _list(PARTNER)


@bp.post("/integracoes/webhooks")
@require(API_TOKENS_MANAGE)
def partner_create():
    return _create(PARTNER)


@bp.get("/integracoes/webhooks/<endpoint_id>")
@require(API_TOKENS_MANAGE)
def partner_detail(endpoint_id):
    return _detail(PARTNER, endpoint_id)


@bp.post("/integracoes/webhooks/<endpoint_id>/excluir")
@require(API_TOKENS_MANAGE)
def partner_delete(endpoint_id):
    return _delete(PARTNER, endpoint_id)


@bp.post("/integracoes/webhooks/<endpoint_id>/reativar")
@require(API_TOKENS_MANAGE)
def partner_enable(endpoint_id):
    return _enable(PARTNER, endpoint_id)


@bp.post("/integracoes/webhooks/<endpoint_id>/entregas/<delivery_id>/reenviar")
@require(API_TOKENS_MANAGE)
def partner_resend(endpoint_id, delivery_id):
    return _resend(PARTNER, endpoint_id, delivery_id)


# -- the accountant's pages (the portal's /contador) ----------------------------------------------


@bp.get("/contador/webhooks")
@accountant_required
def accountant_page():
    return _list(ACCOUNTANT)


@bp.post("/contador/webhooks")
@accountant_required
def accountant_create():
    return _create(ACCOUNTANT)


@bp.get("/contador/webhooks/<endpoint_id>")
@accountant_required
def accountant_detail(endpoint_id):
    return _detail(ACCOUNTANT, endpoint_id)


@bp.post("/contador/webhooks/<endpoint_id>/excluir")
@accountant_required
def accountant_delete(endpoint_id):
    return _delete(ACCOUNTANT, endpoint_id)


@bp.post("/contador/webhooks/<endpoint_id>/reativar")
@accountant_required
def accountant_enable(endpoint_id):
    return _enable(ACCOUNTANT, endpoint_id)


@bp.post("/contador/webhooks/<endpoint_id>/entregas/<delivery_id>/reenviar")
@accountant_required
def accountant_resend(endpoint_id, delivery_id):
    return _resend(ACCOUNTANT, endpoint_id, delivery_id)


# -- the accountant's API tokens (the accountant API, api/accountant_api.py) --------------------------


@bp.post("/contador/api/tokens")
@accountant_required
def accountant_create_token():
    try:
        _token, plaintext = partner_services.create_accountant_token(current_user, request.form.get("name", ""),
                                                                     actor=current_user)
    except ValidationError as exc:
        return _list(ACCOUNTANT, token_errors=exc.fields, status=422)
    return _list(ACCOUNTANT, new_token=plaintext, status=201)


@bp.post("/contador/api/tokens/<token_id>/revogar")
@accountant_required
def accountant_revoke_token(token_id):
    number = parse_id(token_id)
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == number, ApiToken.user_id == current_user.id)) \
        if number is not None else None
    if token is None:
        abort(404)
    partner_services.revoke_api_token(token, actor=current_user)
    flash(_("Token revogado."), "success")
    return redirect(url_for("webhooks.accountant_page"))
