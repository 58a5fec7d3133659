"""Signup links ("links de contratação") and the public signup they lead to."""

import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

import segno
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from accounts.services import check_new_password, create_user
from contracts.models import (
    MAX_TRIAL_DAYS,
    AcceptanceChannel,
    ContractError,
    EventKind,
    LinkState,
    SignupLink,
)
from contracts.services.acceptance import accept_terms, terms_shown
from contracts.services.common import (
    DEFAULT_LINK_DAYS,
    MAX_LINK_DAYS,
    LinkInvalid,
    LinkUnavailable,
    _event,
    _notify_managers,
    _who,
    external_url,
)
from contracts.services.plans import resolve_plan
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import Role
from core.validators import ValidationError, clean_email, collect
from partner import services as partner_services
from partner.models import Client, ContractStatus, Partner, Payer

# -- signup links ---------------------------------------------------------------------------------


def _link_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="revenda.signup-link")


def link_token(link: SignupLink) -> str:
    return _link_serializer().dumps({"l": link.id, "n": link.nonce})


def link_url(link: SignupLink) -> str:
    return external_url("contracts.signup", token=link_token(link))


def _int_between(label: str, low: int, high: int, default: int):
    def rule(value):
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ValueError(_("%(label)s: use um número de %(low)s a %(high)s.", label=label, low=low, high=high))
        return number

    return rule


def _payer_rule(value):
    try:
        return Payer((value or "").strip())
    except ValueError:
        raise ValueError(_("Escolha uma opção válida para %(label)s.", label=_("Responsável pelo pagamento"))) from None


def link_rules() -> dict:
    return {
        "plan_id": lambda v: v,
        "payer": _payer_rule,
        "trial_days": _int_between(_("Período de teste (dias)"), 0, MAX_TRIAL_DAYS, 0),
        "client_email": lambda v: clean_email(v, required=False),
        "expires_in_days": _int_between(_("Validade do link (dias)"), 1, MAX_LINK_DAYS, DEFAULT_LINK_DAYS),
    }


def create_signup_link(partner: Partner, data: dict, *, actor=None, label=None) -> SignupLink:
    """A new pending signup link with the plan, payer and optional trial and e-mail preset."""
    errors, clean = {}, {}
    try:
        clean = collect(link_rules(), data)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        plan = resolve_plan(data.get("plan_id"))
        if data.get("software_id") not in (None, "") and str(plan.software_id) != str(data.get("software_id")):
            raise ValidationError({"plan_id": _("Escolha um plano ativo do software selecionado.")})
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    actor_id, _label = _who(actor, label)
    link = SignupLink(
        partner_id=partner.id, created_by_id=actor_id, software_id=plan.software_id, plan_id=plan.id,
        payer=clean["payer"], trial_days=clean["trial_days"], client_email=clean["client_email"],
        nonce=secrets.token_hex(16), token_hash="pending:" + secrets.token_hex(16),
        expires_at=utcnow() + timedelta(days=clean["expires_in_days"]),
    )
    db.session.add(link)
    db.session.flush()  # the id is part of the signed token
    link.token_hash = partner_services.hash_token(link_token(link))
    db.session.flush()
    audit.record("signup_link.created", link, actor=actor, label=label, partner_id=partner.id, after={
        "plan": str(plan), "payer": link.payer, "trial_days": link.trial_days, "client_email": link.client_email,
        "expires_at": link.expires_at,
    })
    return link


def find_signup_link(token: str) -> SignupLink:
    """The link a URL token names; LinkInvalid when the token was not issued by us."""
    try:
        data = _link_serializer().loads(token or "")
    except BadSignature:
        raise LinkInvalid() from None
    link = db.session.get(SignupLink, data.get("l")) if isinstance(data, dict) else None
    if link is None or not secrets.compare_digest(link.token_hash, partner_services.hash_token(token)):
        raise LinkInvalid()
    return link


def ensure_link_usable(link: SignupLink, now: datetime | None = None) -> None:
    state = link.state_at(now or utcnow())
    if state != LinkState.PENDING:
        raise LinkUnavailable(state)
    if not link.partner.is_active:
        raise LinkUnavailable("partner")
    if not link.plan.is_active or not link.software.is_active:
        raise LinkUnavailable("plan")


def revoke_signup_link(link: SignupLink, *, actor=None, label=None) -> None:
    """Cancel a pending link; used, expired or already revoked links cannot be revoked."""
    state = link.state
    if state != LinkState.PENDING:
        raise ContractError(_("Só é possível revogar um link pendente (este está %(s)s).", s=link.state_label.lower()))
    link.revoked_at = utcnow()
    db.session.flush()
    audit.record("signup_link.revoked", link, actor=actor, label=label, partner_id=link.partner_id,
                 before={"state": state}, after={"state": LinkState.REVOKED})


def send_signup_link(link: SignupLink, to: str | None, *, actor=None, label=None) -> str:
    """E-mail a pending link through the outbox; returns the address used."""
    ensure_link_usable(link)
    try:
        to = clean_email(to or link.client_email or "")
    except ValueError as exc:
        raise ValidationError({"to": str(exc)}) from None
    queue_email(
        to, _("Seu link de contratação — %(partner)s", partner=link.partner), "signup_link", kind="signup_link",
        partner_id=link.partner_id, link=link, url=link_url(link),
        price=partner_services.monthly_price(link.plan, link.payer),
    )
    link.last_sent_at = utcnow()
    db.session.flush()
    audit.record("signup_link.sent", link, actor=actor, label=label, partner_id=link.partner_id, after={"to": to})
    return to


def share_texts(link: SignupLink) -> dict:
    """What the panel offers to share a link: the URL, a QR code, WhatsApp and SMS texts."""
    url = link_url(link)
    price = partner_services.monthly_price(link.plan, link.payer)
    from core.money import format_brl

    text = _("Olá! Segue o link para contratar %(plan)s com a %(partner)s (%(price)s/mês): %(url)s",
             plan=str(link.plan), partner=str(link.partner), price=format_brl(price), url=url)
    sms = _("%(partner)s: contrate %(plan)s em %(url)s", partner=str(link.partner), plan=str(link.plan), url=url)
    qr = segno.make(url, error="m")
    return {
        "url": url, "whatsapp": "https://wa.me/?text=" + quote(text, safe=""), "sms": sms, "text": text,
        "qr_svg": qr.svg_data_uri(scale=5, border=2), "qr_png": qr.png_data_uri(scale=8, border=2),
    }


def link_counts(partner_id: int) -> dict:
    now = utcnow()
    rows = db.session.scalars(select(SignupLink).where(SignupLink.partner_id == partner_id)).all()
    counts = {s: 0 for s in LinkState}
    for row in rows:
        counts[row.state_at(now)] += 1
    return counts


SIGNUP_COMPANY_FIELDS = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                         "complement", "district", "city", "state", "accountant_email")


def _spend_link(link: SignupLink, now: datetime) -> None:
    """Mark the link used with a conditional UPDATE: of concurrent submissions exactly one wins."""
    statement = (
        update(SignupLink)
        .where(SignupLink.id == link.id, SignupLink.used_at.is_(None), SignupLink.revoked_at.is_(None),
               SignupLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    for attempt in range(3):
        try:
            rowcount = db.session.execute(statement).rowcount
            break
        except OperationalError as exc:
            # SQLite answers "database is locked" at once when a transaction that has read tries to
            # write while another writes (WAL cannot upgrade a stale snapshot). Nothing is written
            # yet, so start over with the UPDATE as the first statement: it then waits for the lock
            # (busy_timeout) and sees the other submission's result.
            if attempt == 2 or not getattr(exc.orig, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise
            db.session.rollback()
    if rowcount != 1:
        db.session.refresh(link)
        raise LinkUnavailable(link.state_at(now))


def validate_signup(link: SignupLink, data: dict) -> dict:
    """Check the public form (same rules and messages as the panel); every error at once."""
    rules = {k: v for k, v in partner_services.client_rules().items() if k in SIGNUP_COMPANY_FIELDS}
    errors, clean = {}, {}
    try:
        clean = collect(rules, data)
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        check_new_password(data.get("password", ""), data.get("confirm_password", ""), field="password")
    except ValidationError as exc:
        errors.update(exc.fields)
    if not data.get("accept_terms"):
        errors["accept_terms"] = _("Para contratar, leia e aceite os termos do contrato.")
    if not errors:
        try:
            partner_services.check_unique(link.partner_id, clean["email"], clean["cnpj"])
        except partner_services.DuplicateError as exc:
            errors[exc.field] = exc.message
    if errors:
        raise ValidationError(errors)
    return clean


def signup_client(link: SignupLink, data: dict, *, ip: str | None = None, user_agent: str | None = None):
    """The public signup: client, its user (with the chosen password), the acceptance and the spent
    link, all in the caller's transaction; the managers are e-mailed. Returns (client, user)."""
    now = utcnow()
    ensure_link_usable(link, now)
    terms = terms_shown(data.get("terms_version_id"))
    clean = validate_signup(link, data)
    _spend_link(link, now)
    status = ContractStatus.TRIAL if link.trial_days else ContractStatus.ACTIVE
    client = Client(
        partner_id=link.partner_id, software_id=link.software_id, plan_id=link.plan_id, payer=link.payer,
        status=status, trial_ends_at=now + timedelta(days=link.trial_days) if link.trial_days else None, **clean,
    )
    db.session.add(client)
    db.session.flush()
    user = create_user(client.email, Role.CLIENT, password=data["password"], name=client.legal_name,
                       client_id=client.id)
    user.password_changed_at = now
    link.used_at, link.used_by_client_id = now, client.id
    db.session.flush()
    _event(client, EventKind.CREATED, after=status.value, actor=user, note=_("Link de contratação #%(id)s", id=link.id))
    audit.record("client.created", client, actor=user, client_id=client.id, after={
        **audit.snapshot(client, partner_services.CLIENT_FIELDS), "trial_ends_at": client.trial_ends_at,
        "signup_link_id": link.id,
    })
    audit.record("signup_link.used", link, actor=user, partner_id=link.partner_id, client_id=client.id,
                 before={"state": LinkState.PENDING}, after={"state": LinkState.USED, "client_id": client.id})
    accept_terms(client, channel=AcceptanceChannel.SIGNUP, ip=ip, user_agent=user_agent, user=user, terms=terms)
    _notify_managers(
        link.partner_id, _("Novo cliente pelo link de contratação: %(name)s", name=client.legal_name),
        "signup_completed", kind="signup_completed", client=client, link=link,
        price=partner_services.monthly_price(link.plan, link.payer),
        url=external_url("partner.manage_client", client_id=client.id),
    )
    return client, user
