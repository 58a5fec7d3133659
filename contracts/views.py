"""Contracts in the panel (signup links, the Contrato and Software tabs), the public signup page,
the acceptance pages, and the client area's contract section."""

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_login import current_user
from sqlalchemy import select

from accounts import sessions
from contracts import services
from contracts.models import (
    LINK_STATE_LABELS,
    MANUAL_REASONS,
    REASON_REQUIRED,
    STATUS_LABELS,
    STATUS_VERBS,
    AcceptanceChannel,
    ContractError,
    EventKind,
    LinkState,
    SignupLink,
    StatusReason,
)
from core.db import db, utcnow
from core.permissions import CLIENT_AREA, CONTRACTS_MANAGE, Role, require
from core.validators import ValidationError
from partner.access import get_client_for
from partner.models import ContractStatus, Partner, Payer, Plan, Software
from partner.services import monthly_price
from partner.tabs import (
    AreaSection,
    ClientTab,
    Flag,
    register_client_area_section,
    register_status_provider,
    register_tab,
)

bp = Blueprint("contracts", __name__)
STATUS_BY_VALUE = {s.value: s for s in ContractStatus}

CONTRACT_TAB, SOFTWARE_TAB = "contrato", "software"


def _form() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _client_agent() -> tuple[str | None, str | None]:
    return request.remote_addr, request.headers.get("User-Agent")


def _partner() -> Partner:
    partner = db.session.get(Partner, current_user.partner_id) if current_user.partner_id else None
    if partner is None:
        abort(403)
    return partner


# -- tabs on the client's "Gerenciar" page -----------------------------------------------------------


def contract_tab_context(client, errors=None, data=None) -> dict:
    events = services.history(client, limit=30)
    return {
        "acceptance": services.acceptance_for(client),
        "events": events,
        "value_label": _value_labeler(events),
        "targets": services.status_choices(client),
        "reason_required": REASON_REQUIRED,
        "reasons": MANUAL_REASONS,
        "status_labels": STATUS_LABELS,
        "status_verb": lambda target: _status_verb(client.status, target),
        "payers": list(Payer),
        "prices": {p.value: monthly_price(client.plan, p) for p in Payer},
        "reason_label": _reason_label(client.status_reason),
        "trial_last_day": _trial_last_day(client),
        "errors": errors or {},
        "data": data or {},
    }


def software_tab_context(client, errors=None, data=None) -> dict:
    software = db.session.scalars(select(Software).where(Software.is_active).order_by(Software.name)).all()
    plans = db.session.scalars(select(Plan).where(Plan.is_active).order_by(Plan.software_id, Plan.price_cents)).all()
    return {
        "software": software,
        "plans_by_software": {s.id: [p for p in plans if p.software_id == s.id] for s in software},
        "price_for": lambda plan: monthly_price(plan, client.payer),
        "current_price": monthly_price(client.plan, client.payer),
        "pending": services.pending_plan_change(client),
        "next_cycle": services.next_cycle_start(),
        "errors": errors or {},
        "data": data or {},
    }


def _status_verb(current, target) -> str:
    if target == ContractStatus.ACTIVE:
        return {ContractStatus.TRIAL: _("Efetivar"), ContractStatus.BLOCKED: _("Desbloquear")}.get(
            current, _("Reativar"))
    return str(STATUS_VERBS[target])


_PLAN_KINDS = (EventKind.PLAN, EventKind.PLAN_SCHEDULED, EventKind.PLAN_SCHEDULE_CANCELLED)


def _value_labeler(events):
    """Words for a ContractEvent's from/to values (plan names, status and payer labels), one query."""
    plan_ids = {int(v) for e in events if e.kind in _PLAN_KINDS for v in (e.from_value, e.to_value) if v and v.isdigit()}
    plans = {p.id: str(p) for p in db.session.scalars(select(Plan).where(Plan.id.in_(plan_ids)))} if plan_ids else {}
    payers = {Payer.PARTNER.value: _("Revenda (gestor)"), Payer.CLIENT.value: _("Cliente")}

    def label(event, value):
        if not value:
            return ""
        if event.kind in (EventKind.STATUS, EventKind.CREATED) and value in STATUS_BY_VALUE:
            return str(STATUS_LABELS[STATUS_BY_VALUE[value]])
        if event.kind == EventKind.PAYER:
            return payers.get(value, value)
        if event.kind in _PLAN_KINDS and value.isdigit():
            return plans.get(int(value), value)
        if event.kind == EventKind.TRIAL:
            try:
                return to_user_timezone(datetime.fromisoformat(value)).strftime("%d/%m/%Y %H:%M")
            except ValueError:
                return value
        return value

    return label


def _reason_label(value) -> str:
    try:
        return StatusReason(value).label if value else ""
    except ValueError:
        return value


def _trial_last_day(client) -> date | None:
    if client.trial_ends_at is None:
        return None
    return to_user_timezone(client.trial_ends_at - timedelta(seconds=1)).date()


register_tab(ClientTab(CONTRACT_TAB, _l("Contrato"), "contracts/tab_contract.html", CONTRACTS_MANAGE, order=30,
                       context=contract_tab_context))
register_tab(ClientTab(SOFTWARE_TAB, _l("Software"), "contracts/tab_software.html", CONTRACTS_MANAGE, order=40,
                       context=software_tab_context))


def _awaiting_acceptance(clients):
    """An active contract not yet accepted reads "Aguardando aceite" (not "Efetivado" beside it)
    until the client accepts; a trial keeps saying it is a trial."""
    # one query for the whole page, whatever its statuses (a page costs the same whatever its data)
    awaiting = services.clients_awaiting_acceptance([c.id for c in clients])
    open_ones = [c for c in clients if c.status in (ContractStatus.ACTIVE, ContractStatus.TRIAL)]
    return {
        c.id: Flag(str(_l("Aguardando aceite")) if c.status == ContractStatus.ACTIVE
                   else str(_l("Teste — aguardando aceite")), "warning")
        for c in open_ones if c.id in awaiting
    }


register_status_provider(_awaiting_acceptance)


def _client_area_context(client) -> dict:
    return {
        "acceptance": services.acceptance_for(client),
        "reason_label": _reason_label(client.status_reason),
        "trial_last_day": _trial_last_day(client),
        "pending": services.pending_plan_change(client),
        "contract_price": monthly_price(client.plan, client.payer),
    }


register_client_area_section(AreaSection("contracts/client_area_section.html", order=10,
                                         context=_client_area_context))


def _back_to(client, tab: str):
    return redirect(url_for("partner.manage_client", client_id=client.id, tab=tab) + "#configuracoes")


def _tab_error(client, tab: str, *, errors=None, message=None, data=None, status=422):
    """Invalid input in a tab form: the tab again, on its own page, with the messages (nothing saved)."""
    if tab == CONTRACT_TAB:
        template, context = "contracts/tab_contract.html", contract_tab_context(client, errors, data)
    else:
        template, context = "contracts/tab_software.html", software_tab_context(client, errors, data)
    return render_template("contracts/tab_error.html", client=client, tab=tab, template=template,
                           message=message, **context), status


@bp.route("/clientes/<client_id>/contrato/status", methods=["POST"])
@require(CONTRACTS_MANAGE)
def change_status(client_id):
    client = get_client_for(current_user, client_id)
    data = _form()
    try:
        services.change_status(client, data.get("status"), data.get("reason") or None, actor=current_user,
                               note=data.get("note"))
    except ValidationError as exc:
        return _tab_error(client, CONTRACT_TAB, errors=exc.fields, data=data)
    except ContractError as exc:
        return _tab_error(client, CONTRACT_TAB, message=exc.message, data=data, status=409)
    flash(_("Status do contrato alterado para %(s)s.", s=STATUS_LABELS[client.status]), "success")
    return _back_to(client, CONTRACT_TAB)


@bp.route("/clientes/<client_id>/contrato/pagador", methods=["POST"])
@require(CONTRACTS_MANAGE)
def change_payer(client_id):
    client = get_client_for(current_user, client_id)
    try:
        services.change_payer(client, request.form.get("payer"), actor=current_user)
    except ValidationError as exc:
        return _tab_error(client, CONTRACT_TAB, errors=exc.fields, data=_form())
    flash(_("Responsável pelo pagamento da mensalidade salvo."), "success")
    return _back_to(client, CONTRACT_TAB)


@bp.route("/clientes/<client_id>/contrato/teste", methods=["POST"])
@require(CONTRACTS_MANAGE)
def update_trial(client_id):
    client = get_client_for(current_user, client_id)
    raw = (request.form.get("trial_ends_on") or "").strip()
    try:
        try:
            ends_on = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise ValidationError({"trial_ends_on": _("Data inválida: use o formato DD/MM/AAAA.")}) from None
        services.update_trial(client, ends_on, bool(request.form.get("trial_auto_activate")), actor=current_user)
    except ValidationError as exc:
        return _tab_error(client, CONTRACT_TAB, errors=exc.fields, data=_form())
    except ContractError as exc:
        return _tab_error(client, CONTRACT_TAB, message=exc.message, status=409)
    flash(_("Período de teste salvo."), "success")
    return _back_to(client, CONTRACT_TAB)


@bp.route("/clientes/<client_id>/contrato/reenviar-aceite", methods=["POST"])
@require(CONTRACTS_MANAGE)
def resend_acceptance(client_id):
    client = get_client_for(current_user, client_id)
    try:
        to = services.request_acceptance(client, actor=current_user)
    except ContractError as exc:
        return _tab_error(client, CONTRACT_TAB, message=exc.message, status=409)
    flash(_("E-mail de aceite reenviado para %(email)s.", email=to), "success")
    return _back_to(client, CONTRACT_TAB)


@bp.route("/clientes/<client_id>/software", methods=["POST"])
@require(CONTRACTS_MANAGE)
def change_plan(client_id):
    client = get_client_for(current_user, client_id)
    data = _form()
    try:
        plan = services.resolve_plan(data.get("plan_id"))
        result = services.change_plan(client, plan, when=data.get("when", services.WHEN_NOW), actor=current_user)
    except ValidationError as exc:
        return _tab_error(client, SOFTWARE_TAB, errors=exc.fields, data=data)
    if data.get("when") == services.WHEN_NEXT_CYCLE:
        flash(_("Troca para %(plan)s agendada para %(d)s.", plan=str(plan),
                d=_local_date(result.effective_at).strftime("%d/%m/%Y")), "success")
    else:
        flash(_("Software salvo: plano %(plan)s a partir de agora.", plan=str(plan)), "success")
    return _back_to(client, SOFTWARE_TAB)


def _local_date(value):
    return to_user_timezone(value).date()


@bp.route("/clientes/<client_id>/software/cancelar-agendamento", methods=["POST"])
@require(CONTRACTS_MANAGE)
def cancel_plan_change(client_id):
    client = get_client_for(current_user, client_id)
    try:
        services.cancel_pending_plan_change(client, actor=current_user)
    except ContractError as exc:
        return _tab_error(client, SOFTWARE_TAB, message=exc.message, status=409)
    flash(_("Troca de plano agendada cancelada."), "success")
    return _back_to(client, SOFTWARE_TAB)


# -- signup links in the panel ----------------------------------------------------------------------


def _link_for(link_id: int) -> SignupLink:
    """A link of the current manager's partner, else 404."""
    link = db.session.scalar(
        select(SignupLink).where(SignupLink.id == link_id, SignupLink.partner_id == current_user.partner_id)
    )
    if link is None:
        abort(404)
    return link


def _links_page(errors=None, data=None, status=200):
    partner = _partner()
    state = request.args.get("state")
    links = db.session.scalars(
        select(SignupLink).where(SignupLink.partner_id == partner.id)
        .order_by(SignupLink.created_at.desc(), SignupLink.id.desc()).limit(200)
    ).all()
    now = utcnow()
    if state in {s.value for s in LinkState}:
        links = [link for link in links if link.state_at(now) == state]
    software = db.session.scalars(select(Software).where(Software.is_active).order_by(Software.name)).all()
    plans = db.session.scalars(select(Plan).where(Plan.is_active).order_by(Plan.software_id, Plan.price_cents)).all()
    return render_template(
        "contracts/signup_links.html", links=links, now=now, state=state, state_labels=LINK_STATE_LABELS,
        software=software, plans=plans, payers=list(Payer), errors=errors or {},
        data=data or {"payer": Payer.CLIENT.value, "trial_days": "0", "expires_in_days": str(services.DEFAULT_LINK_DAYS)},
        counts=services.link_counts(partner.id), max_trial=services.MAX_TRIAL_DAYS, max_days=services.MAX_LINK_DAYS,
    ), status


@bp.route("/links-de-contratacao", methods=["GET", "POST"])
@require(CONTRACTS_MANAGE)
def signup_links():
    if request.method == "GET":
        return _links_page()
    data = _form()
    errors = {}
    if data.get("send_email") and not (data.get("client_email") or "").strip():
        # Asked to send, nowhere to send to: say so instead of silently creating an unsent link.
        errors["client_email"] = _("Informe o e-mail do cliente para enviar o link agora.")
    try:
        link = services.create_signup_link(_partner(), data, actor=current_user)
    except ValidationError as exc:
        errors = {**errors, **exc.fields}
    if errors:  # 422: the request boundary rolls back anything created above
        return _links_page(errors=errors, data=data, status=422)
    if link.client_email and request.form.get("send_email"):
        services.send_signup_link(link, link.client_email, actor=current_user)
        flash(_("Link criado e enviado para %(email)s.", email=link.client_email), "success")
    else:
        flash(_("Link de contratação criado. Compartilhe-o com o cliente."), "success")
    return redirect(url_for("contracts.signup_link", link_id=link.id))


@bp.route("/links-de-contratacao/<int:link_id>")
@require(CONTRACTS_MANAGE)
def signup_link(link_id):
    link = _link_for(link_id)
    share = services.share_texts(link) if link.state == LinkState.PENDING else None
    return render_template("contracts/signup_link.html", link=link, share=share,
                           price=monthly_price(link.plan, link.payer), errors={}, to=link.client_email or "")


@bp.route("/links-de-contratacao/<int:link_id>/enviar", methods=["POST"])
@require(CONTRACTS_MANAGE)
def send_link(link_id):
    link = _link_for(link_id)
    try:
        to = services.send_signup_link(link, request.form.get("to"), actor=current_user)
    except ValidationError as exc:
        share = services.share_texts(link)
        return render_template("contracts/signup_link.html", link=link, share=share, errors=exc.fields,
                               price=monthly_price(link.plan, link.payer), to=request.form.get("to", "")[:254]), 422
    except services.LinkUnavailable as exc:
        flash(exc.message, "danger")
        return redirect(url_for("contracts.signup_link", link_id=link.id)), 303
    flash(_("Link enviado por e-mail para %(email)s.", email=to), "success")
    return redirect(url_for("contracts.signup_link", link_id=link.id))


@bp.route("/links-de-contratacao/<int:link_id>/revogar", methods=["POST"])
@require(CONTRACTS_MANAGE)
def revoke_link(link_id):
    link = _link_for(link_id)
    try:
        services.revoke_signup_link(link, actor=current_user)
    except ContractError as exc:
        return render_template("error.html", code=409, message=exc.message), 409
    flash(_("Link revogado: ele não pode mais ser usado."), "success")
    return redirect(url_for("contracts.signup_links"))


# -- the public signup page ---------------------------------------------------------------------------


def _unavailable(exc: services.LinkUnavailable):
    return render_template("contracts/link_unavailable.html", message=exc.message, state=exc.state), 410


def _invalid_link():
    message = _("Link de contratação inválido. Confira se o endereço foi copiado por inteiro ou peça um novo "
                "link à sua revenda.")
    return render_template("contracts/link_unavailable.html", message=message, state="invalid"), 404


@bp.route("/contratar/<token>", methods=["GET", "POST"])
def signup(token):
    try:
        link = services.find_signup_link(token)
        services.ensure_link_usable(link)
    except services.LinkInvalid:
        return _invalid_link()
    except services.LinkUnavailable as exc:
        return _unavailable(exc)
    errors, data = {}, {"email": link.client_email or ""}
    if request.method == "POST":
        data = _form()
        ip, agent = _client_agent()
        try:
            _client, user = services.signup_client(link, data, ip=ip, user_agent=agent)
        except ValidationError as exc:
            errors = exc.fields
        except services.LinkUnavailable as exc:
            return _unavailable(exc)
        else:
            sessions.log_in(user)
            flash(_("Cadastro concluído! Bem-vindo(a) à área do cliente."), "success")
            return redirect(url_for("partner.client_area"))
    terms = services.current_terms()
    response = make_response(render_template(
        "contracts/signup.html", link=link, terms=terms, errors=errors, data=data,
        price=monthly_price(link.plan, link.payer), kept_passwords=_kept_passwords(data, errors),
    ), 422 if errors else 200)
    # The page may carry the passwords the visitor just typed: neither the browser nor a proxy keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _kept_passwords(data: dict, errors: dict) -> dict:
    """After an error elsewhere in the form, the passwords typed stay in their fields (the visitor
    should not type them again); when the password itself is refused, both are cleared."""
    if not errors or errors.get("password") or errors.get("confirm_password"):
        return {}
    return {k: (data.get(k) or "")[:128] for k in ("password", "confirm_password")}


# -- acceptance -----------------------------------------------------------------------------------------


@bp.route("/aceite/<token>", methods=["GET", "POST"])
def accept(token):
    """The acceptance e-mail's link: the signed token names the client (possession of the mailbox is the
    proof, as with a password reset), so the client accepts without logging in."""
    try:
        client = services.client_for_acceptance_token(token)
    except services.AcceptanceLinkInvalid as exc:
        message = (_("Este link de aceite expirou. Peça à sua revenda que reenvie o e-mail de aceite.")
                   if exc.expired else _("Link de aceite inválido. Confira se o endereço foi copiado por inteiro."))
        return render_template("contracts/link_unavailable.html", message=message, state="invalid"), (
            410 if exc.expired else 404)
    if current_user.is_authenticated and not _is_client_user(client):
        # A manager (or anyone else logged in) who got hold of the link cannot accept in the client's name.
        message = _("O aceite do contrato é um ato do próprio cliente. Você está conectado como %(email)s: "
                    "saia da sua conta para que o cliente abra este link.", email=current_user.email)
        return render_template("error.html", code=403, message=message), 403
    return _accept_page(client, AcceptanceChannel.EMAIL_LINK, url_for("contracts.accept", token=token),
                        document=services.terms_of_acceptance_token(token))


@bp.route("/cliente/aceite", methods=["GET", "POST"])
@require(CLIENT_AREA)
def client_accept():
    client = get_client_for(current_user, current_user.client_id)
    return _accept_page(client, AcceptanceChannel.CLIENT_AREA, url_for("contracts.client_accept"))


def _accept_page(client, channel: AcceptanceChannel, action: str, document=None):
    """The acceptance page of the contract, or (``document``: a TermsVersion) of another document
    such as a service's terms, which the link names."""
    errors = {}
    if request.method == "POST":
        if not request.form.get("accept_terms"):
            errors["accept_terms"] = _("Para aceitar, marque “Li e aceito os termos”.")
        else:
            ip, agent = _client_agent()
            user = current_user if _is_client_user(client) else None
            terms = document or services.terms_shown(request.form.get("terms_version_id"))
            services.accept_terms(client, channel=channel, ip=ip, user_agent=agent, user=user, terms=terms)
            flash(_("Contrato aceito. Obrigado!"), "success")
            return redirect(url_for("partner.client_area") if channel == AcceptanceChannel.CLIENT_AREA else action)
    return render_template(
        "contracts/accept.html", client=client, terms=document or services.current_terms(), errors=errors,
        action=action, acceptance=services.acceptance_for(client, document), document=document,
        price=monthly_price(client.plan, client.payer),
    ), (422 if errors else 200)


def _is_client_user(client) -> bool:
    return (current_user.is_authenticated and current_user.role == Role.CLIENT
            and current_user.client_id == client.id)

