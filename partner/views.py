"""The partner panel: dashboard, Novo cadastro, Gerenciar, Meus dados; and the client area."""

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from accounts import services as account_services
from core.audit import AuditEvent as AuditEventView
from core.db import db
from core.permissions import (
    API_TOKENS_MANAGE,
    CLIENT_AREA,
    CLIENTS_MANAGE,
    CLIENTS_VIEW,
    PARTNER_PROFILE,
    Role,
    require,
)
from core.security import parse_id
from core.validators import ValidationError, format_cep, format_cnpj, format_phone
from partner import accountants, services
from partner.access import clients_visible_to, get_client_for
from partner.history import history_rows, visible_actions
from partner.models import ApiToken, Client, ContractStatus, Partner, PartnerEmail, Payer, Plan, Software
from partner.tabs import (
    AreaSection,
    actions_for,
    client_area_sections,
    dashboard_columns,
    dashboard_filters,
    flags_for,
    register_client_area_section,
    status_overrides_for,
    tabs_for,
)

bp = Blueprint("partner", __name__)


def current_partner() -> Partner:
    partner = db.session.get(Partner, current_user.partner_id) if current_user.partner_id else None
    if partner is None:
        abort(403)
    return partner


def catalogue():
    software = db.session.scalars(select(Software).where(Software.is_active).order_by(Software.name)).all()
    plans = db.session.scalars(
        select(Plan).where(Plan.is_active).order_by(Plan.software_id, Plan.price_cents)
    ).all()
    return software, plans


@bp.route("/painel")
@require(CLIENTS_VIEW)
def dashboard():
    params = request.args.to_dict()
    query = services.filter_clients(clients_visible_to(current_user), params)
    columns = dashboard_columns()
    page = services.paginate(
        query, page=params.get("page"), per_page=current_app.config["DASHBOARD_PER_PAGE"], sort=params.get("sort"),
        columns=columns, searching=bool((params.get("q") or "").strip()),
    )
    software, plans = catalogue()
    filters = dashboard_filters()
    return render_template(
        "partner/dashboard.html", page=page, params=params, software=software, plans=plans,
        statuses=list(ContractStatus), payers=list(Payer), is_manager=current_user.role == Role.MANAGER,
        flags=flags_for([c.id for c in page.items]), columns=columns, filters=filters,
        status_overrides=status_overrides_for(page.items),
        filtered=any(params.get(k) for k in ("q", "status", "software_id", "plan_id", "payer",
                                             *(f.key for f in filters))),
    )


def _form_data() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


_DISPLAY_FORMATS = {"cnpj": format_cnpj, "cep": format_cep, "phone": format_phone}


def _for_display(data: dict) -> dict:
    """Stored values as people type them in an edit form (11.222.333/0001-81, 01310-100, (11) 98765-4321);
    the clean_* validators accept both forms."""
    return {k: _DISPLAY_FORMATS[k](v) if k in _DISPLAY_FORMATS else v for k, v in data.items()}


@bp.route("/clientes/novo", methods=["GET", "POST"])
@require(CLIENTS_MANAGE)
def new_client():
    partner = current_partner()
    errors, data = {}, {"payer": Payer.PARTNER.value}
    if request.method == "POST":
        data = _form_data()
        try:
            client = services.register_client(partner, data, actor=current_user)
        except ValidationError as exc:
            errors = exc.fields
        except services.DuplicateError as exc:
            errors = {exc.field: exc.message}
        else:
            flash(_("Cliente %(name)s cadastrado. Enviamos a ele um e-mail, em nome da revenda, para aceitar o "
                    "contrato e definir a senha.", name=client.legal_name), "success")
            return redirect(url_for("partner.manage_client", client_id=client.id))
    software, plans = catalogue()
    return render_template(
        "partner/client_form.html", errors=errors, data=data, software=software, plans=plans,
        payers=list(Payer), mode="new",
    ), (422 if errors else 200)


@bp.route("/clientes/<client_id>")
@require(CLIENTS_VIEW)
def manage_client(client_id):
    client = get_client_for(current_user, client_id)
    tabs = tabs_for(current_user)
    active = next((t for t in tabs if t.key == request.args.get("tab")), None)
    tab_html = Markup(render_template(active.template, client=client, **active.context(client))) if active else None
    # The accountant reads the contract's state and the client's documents: not prices, keys or accesses.
    is_accountant = current_user.role == Role.ACCOUNTANT
    query = select(AuditEventView).where(AuditEventView.client_id == client.id)
    visible = visible_actions(is_accountant)
    if visible is not None:
        query = query.where(AuditEventView.action.in_(sorted(visible)))
    history = db.session.scalars(query.order_by(AuditEventView.at.desc(), AuditEventView.id.desc()).limit(50)).all()
    return render_template(
        "partner/manage.html", client=client, history=history_rows(history, for_accountant=is_accountant),
        price=services.monthly_price(client.plan, client.payer),
        is_manager=current_user.role == Role.MANAGER, is_accountant=is_accountant,
        tabs=tabs, active_tab=active, tab_html=tab_html, actions=actions_for(current_user),
        status_override=status_overrides_for([client]).get(client.id),
        accountant_links=accountants.links_of(client) if current_user.role == Role.MANAGER else [],
    )


@bp.route("/clientes/<client_id>/editar", methods=["GET", "POST"])
@require(CLIENTS_MANAGE)
def edit_client(client_id):
    client = get_client_for(current_user, client_id)
    errors = {}
    editable = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                "complement", "district", "city", "state", "accountant_email")
    data = _for_display({k: getattr(client, k) or "" for k in editable})
    if request.method == "POST":
        data = {k: request.form.get(k, "") for k in editable}
        try:
            services.update_client(client, data, actor=current_user)
        except ValidationError as exc:
            errors = exc.fields
        except services.DuplicateError as exc:
            errors = {exc.field: exc.message}
        else:
            flash(_("Dados do cliente salvos."), "success")
            return redirect(url_for("partner.manage_client", client_id=client.id))
    return render_template("partner/client_form.html", errors=errors, data=data, client=client, mode="edit"), (
        422 if errors else 200
    )


@bp.route("/clientes/<client_id>/acessar-software", methods=["POST"])
@require(CLIENTS_MANAGE)
def access_software(client_id):
    client = get_client_for(current_user, client_id)
    return redirect(services.software_access_url(client, current_user))


# -- Meus dados --------------------------------------------------------------------------------

PROFILE_TABS = ("basicos", "emails", "senha", "api")


@bp.route("/meus-dados", methods=["GET", "POST"])
@require(PARTNER_PROFILE)
def profile():
    partner = current_partner()
    tab = request.args.get("tab", "basicos")
    if tab not in PROFILE_TABS:
        tab = "basicos"
    errors, data = {}, None
    if request.method == "POST":
        data = _form_data()
        try:
            services.update_partner(partner, data, actor=current_user)
        except ValidationError as exc:
            errors = exc.fields
        else:
            flash(_("Dados salvos."), "success")
            return redirect(url_for("partner.profile", tab="basicos"))
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.partner_id == partner.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "partner/profile.html", partner=partner, tab=tab, errors=errors,
        data=data or _for_display({k: getattr(partner, k) or "" for k in services.PARTNER_FIELDS}), tokens=tokens,
        new_token=None,
    ), (422 if errors else 200)


@bp.route("/meus-dados/senha", methods=["POST"])
@require(PARTNER_PROFILE)
def change_password():
    """The "Senha" tab: a wrong password is shown on the tab itself, not on a page outside Meus dados."""
    partner = current_partner()
    try:
        account_services.change_password(
            current_user, request.form.get("current_password", ""),
            request.form.get("new_password", ""), request.form.get("confirm_password", ""),
        )
    except ValidationError as exc:
        return render_template(
            "partner/profile.html", partner=partner, tab="senha", errors=exc.fields, data={}, tokens=[],
            new_token=None,
        ), 422
    flash(_("Senha alterada com sucesso"), "success")
    return redirect(url_for("partner.profile", tab="senha"))


@bp.route("/meus-dados/emails", methods=["POST"])
@require(PARTNER_PROFILE)
def add_email():
    partner = current_partner()
    try:
        services.add_linked_email(partner, request.form.get("email", ""), actor=current_user)
    except ValidationError as exc:
        tokens = []
        return render_template(
            "partner/profile.html", partner=partner, tab="emails", errors=exc.fields,
            data={}, tokens=tokens, new_token=None, new_email=request.form.get("email", "")[:254],
        ), 422
    flash(_("E-mail vinculado."), "success")
    return redirect(url_for("partner.profile", tab="emails"))


@bp.route("/meus-dados/emails/<int:email_id>/remover", methods=["POST"])
@require(PARTNER_PROFILE)
def remove_email(email_id):
    partner = current_partner()
    linked = db.session.scalar(
        select(PartnerEmail).where(PartnerEmail.id == email_id, PartnerEmail.partner_id == partner.id)
    )
    if linked is None:
        abort(404)
    services.remove_linked_email(linked, actor=current_user)
    flash(_("E-mail removido."), "success")
    return redirect(url_for("partner.profile", tab="emails"))


@bp.route("/meus-dados/api/tokens", methods=["POST"])
@require(API_TOKENS_MANAGE)
def create_token():
    partner = current_partner()
    errors, new_token = {}, None
    try:
        _token, new_token = services.create_api_token(partner, request.form.get("name", ""), actor=current_user)
    except ValidationError as exc:
        errors = exc.fields
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.partner_id == partner.id).order_by(ApiToken.created_at.desc())
    ).all()
    response = make_response(render_template(
        "partner/profile.html", partner=partner, tab="api", errors=errors, tokens=tokens, new_token=new_token,
        data={},
    ), 422 if errors else 201)
    # The page shows the new token once: neither the browser nor a proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/meus-dados/api/tokens/<int:token_id>/revogar", methods=["POST"])
@require(API_TOKENS_MANAGE)
def revoke_token(token_id):
    partner = current_partner()
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.partner_id == partner.id))
    if token is None:
        abort(404)
    services.revoke_api_token(token, actor=current_user)
    flash(_("Token revogado."), "success")
    return redirect(url_for("partner.profile", tab="api"))


# -- client area ----------------------------------------------------------------------------------


@bp.route("/cliente")
@require(CLIENT_AREA)
def client_area():
    client = get_client_for(current_user, current_user.client_id)
    sections = [Markup(render_template(s.template, client=client, **s.context(client))) for s in client_area_sections()]
    return render_template(
        "partner/client_area.html", client=client, price=services.monthly_price(client.plan, client.payer),
        sections=sections,
    )



@bp.route("/software-demo")
def software_demo():
    """Stands in for the client's software in the embedded demo: shows who the token names."""
    from itsdangerous import BadSignature

    try:
        payload = services.load_software_token(request.args.get("revenda_token", ""))
    except BadSignature:
        return render_template("error.html", code=400, message=_("Link de acesso inválido ou expirado.")), 400
    client = db.session.get(Client, payload["client_id"])
    return render_template("partner/software_demo.html", payload=payload, client=client)


# -- the client's accountants: named, invited, accepted (partner/accountants.py) ----------------------


def _accountant_links_context(client):
    form = g.get("accountant_form") or {}
    return {"links": accountants.links_of(client), "is_client": True, "errors": form.get("errors", {}),
            "typed": form.get("typed", "")}


register_client_area_section(AreaSection("partner/_accountant_links.html", order=30, context=_accountant_links_context))


def _link_or_404(client, link_id):
    link = accountants.get_link_of(client, parse_id(link_id))
    if link is None:
        abort(404)
    return link


def _after_link_change(client):
    if current_user.role == Role.CLIENT:
        return redirect(url_for("partner.client_area") + "#contador"), 303
    return redirect(url_for("partner.manage_client", client_id=client.id) + "#contador"), 303


def _resend(client, link_id):
    link = _link_or_404(client, link_id)
    try:
        accountants.resend_invitation(link, actor=current_user)
    except ValidationError as exc:
        flash(exc.fields.get("link"), "error")
    else:
        flash(_("Convite reenviado para %(email)s.", email=link.email), "success")
    return _after_link_change(client)


def _revoke(client, link_id):
    link = _link_or_404(client, link_id)
    accountants.revoke_link(link, actor=current_user)
    if (client.accountant_email or "").lower() == link.email:
        client.accountant_email = None  # no longer the named accountant
    flash(_("O contador %(email)s não tem mais acesso às notas da empresa.", email=link.email), "success")
    return _after_link_change(client)


@bp.post("/clientes/<client_id>/contadores/<link_id>/reenviar")
@require(CLIENTS_MANAGE)
def resend_accountant(client_id, link_id):
    return _resend(get_client_for(current_user, client_id), link_id)


@bp.post("/clientes/<client_id>/contadores/<link_id>/remover")
@require(CLIENTS_MANAGE)
def revoke_accountant(client_id, link_id):
    return _revoke(get_client_for(current_user, client_id), link_id)


@bp.post("/cliente/contador")
@require(CLIENT_AREA)
def client_name_accountant():
    """The client names (or changes) its accountant's e-mail: the accountant is invited to accept."""
    client = get_client_for(current_user, current_user.client_id)
    try:
        services.update_client(client, {"accountant_email": request.form.get("accountant_email", "")[:300]},
                               actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        g.accountant_form = {"errors": exc.fields, "typed": request.form.get("accountant_email", "")[:254]}
        return client_area(), 422
    flash(_("Enviamos ao contador um e-mail para aceitar o acesso às notas da empresa."), "success")
    return _after_link_change(client)


@bp.post("/cliente/contadores/<link_id>/reenviar")
@require(CLIENT_AREA)
def client_resend_accountant(link_id):
    return _resend(get_client_for(current_user, current_user.client_id), link_id)


@bp.post("/cliente/contadores/<link_id>/remover")
@require(CLIENT_AREA)
def client_revoke_accountant(link_id):
    return _revoke(get_client_for(current_user, current_user.client_id), link_id)
