"""Versioned terms and the evidence of their acceptance; the signed acceptance link."""

from datetime import datetime
from email.utils import parseaddr

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from accounts.models import User
from accounts.services import client_users
from accounts.tokens import FIRST_ACCESS, make_user_token
from contracts import signals
from contracts.models import (
    CONTRACT_DOCUMENT,
    Acceptance,
    AcceptanceChannel,
    EventKind,
    TermsVersion,
)
from contracts.services.common import (
    ACCEPTANCE_LINK_MAX_AGE,
    TERMS_DIR,
    AcceptanceLinkInvalid,
    AlreadyAccepted,
    _audit,
    _event,
    external_url,
)
from core.db import db, utcnow
from core.mail import queue_email
from core.security import parse_id
from partner.models import Client

# -- terms and acceptance -------------------------------------------------------------------------


def current_terms(now: datetime | None = None) -> TermsVersion:
    """The latest published terms; v1 is created from templates/contracts/terms_v1.txt if none exists."""
    now = now or utcnow()
    contract = select(TermsVersion).where(TermsVersion.document == CONTRACT_DOCUMENT)
    terms = db.session.scalar(
        contract.where(TermsVersion.published_at <= now)
        .order_by(TermsVersion.published_at.desc(), TermsVersion.id.desc()).limit(1)
    )
    if terms is not None:
        return terms
    terms = db.session.scalar(contract.order_by(TermsVersion.published_at, TermsVersion.id).limit(1))
    if terms is not None:
        return terms
    text = (TERMS_DIR / "terms_v1.txt").read_text(encoding="utf-8")
    terms = TermsVersion(version="v1", text=text, sha256=TermsVersion.hash_text(text), published_at=now)
    db.session.add(terms)
    db.session.flush()
    return terms


def acceptance_for(client: Client, terms: TermsVersion | None = None) -> Acceptance | None:
    """The client's latest acceptance of the contract, or None ("Aguardando aceite"); with ``terms``,
    its acceptance of that version of another document (a service's terms)."""
    query = select(Acceptance).where(Acceptance.client_id == client.id)
    if terms is not None:
        query = query.where(Acceptance.terms_version_id == terms.id)
    else:
        query = query.join(TermsVersion).where(TermsVersion.document == CONTRACT_DOCUMENT)
    return db.session.scalar(query.order_by(Acceptance.accepted_at.desc(), Acceptance.id.desc()).limit(1))


def accept_terms(client: Client, *, channel: AcceptanceChannel, ip: str | None, user_agent: str | None,
                 user: User | None = None, terms: TermsVersion | None = None) -> Acceptance:
    """Record the evidence of ``client`` accepting ``terms`` (idempotent per version)."""
    terms = terms or current_terms()
    existing = db.session.scalar(
        select(Acceptance).where(Acceptance.client_id == client.id, Acceptance.terms_version_id == terms.id)
    )
    if existing is not None:
        return existing
    acceptance = Acceptance(
        client_id=client.id, terms_version_id=terms.id, text_sha256=terms.sha256, accepted_at=utcnow(),
        ip=(ip or "")[:45] or None, user_agent=(user_agent or "")[:500] or None,
        user_id=getattr(user, "id", None), channel=AcceptanceChannel(channel),
    )
    db.session.add(acceptance)
    db.session.flush()
    label = user.email if user is not None else acceptance_address(client)
    _event(client, EventKind.ACCEPTANCE, after=terms.version, note=channel.value, actor=user, label=label)
    _audit("contract.accepted", client, obj=acceptance, actor=user, label=label, after={
        "terms_version": terms.version, "text_sha256": terms.sha256, "ip": acceptance.ip, "channel": channel,
    })
    signals.terms_accepted.send(client, acceptance=acceptance, terms=terms, actor=user)
    return acceptance


def _acceptance_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="revenda.contract-acceptance")


def acceptance_address(client: Client) -> str:
    """Where the acceptance link goes: the client's own login e-mail, which only the client can move
    (a manager may change the company's e-mail, not send the link to an address of their choosing)."""
    logins = client_users(client.id)
    return logins[0].email if logins else client.email


def acceptance_token(client: Client, terms: TermsVersion | None = None) -> str:
    # The address is part of the payload: moving the client's login kills links sent to the old one.
    payload = {"c": client.id, "e": acceptance_address(client)}
    if terms is not None and terms.document != CONTRACT_DOCUMENT:
        payload["t"] = terms.id  # another document (a service's terms): the link accepts that one
    return _acceptance_serializer().dumps(payload)


def terms_of_acceptance_token(token: str) -> TermsVersion | None:
    """The document version a (valid) acceptance link names, None for the contract's links."""
    try:
        data = _acceptance_serializer().loads(token)
    except BadSignature:
        return None
    terms_id = data.get("t") if isinstance(data, dict) else None
    return db.session.get(TermsVersion, terms_id) if isinstance(terms_id, int) else None


def client_for_acceptance_token(token: str) -> Client:
    """The client a signed acceptance link names; AcceptanceLinkInvalid if tampered or too old."""
    max_age = current_app.config.get("ACCEPTANCE_LINK_MAX_AGE", ACCEPTANCE_LINK_MAX_AGE)
    try:
        data = _acceptance_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise AcceptanceLinkInvalid(expired=True) from None
    except BadSignature:
        raise AcceptanceLinkInvalid() from None
    client = db.session.get(Client, data.get("c")) if isinstance(data, dict) else None
    if client is None or acceptance_address(client) != data.get("e"):
        raise AcceptanceLinkInvalid()
    return client


def _first_access_link(client: Client) -> str | None:
    """The client login's first-access link while it has no password yet (a manager registered it):
    the acceptance e-mail carries it, so the client gets one e-mail, not two at once."""
    users = client_users(client.id)
    user = users[0] if users else None
    if user is None or user.password_hash:
        return None
    return external_url("accounts.first_access", token=make_user_token(user, FIRST_ACCESS))


def partner_sender(partner) -> dict:
    """From "<Partner> via Revenda", answers to the partner: the client knows its reseller, not us."""
    platform = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")[0] or "Revenda"
    return {"sender_name": f"{partner} via {platform}", "reply_to": partner.email or None}


def request_acceptance(client: Client, *, actor=None, label=None, terms: TermsVersion | None = None,
                       document_title: str | None = None) -> str:
    """E-mail the client the terms and a signed acceptance link (also the "Reenviar" button), in the
    partner's name; while the client's login has no password, the same e-mail carries its first access.
    Returns the address it went to (the client's login e-mail, see :func:`acceptance_address`).

    ``terms`` (with ``document_title``) asks for another document's acceptance, e.g. a service's terms
    (orders): the same e-mail, link, page and evidence."""
    if acceptance_for(client, terms) is not None:
        raise AlreadyAccepted(_("O cliente já aceitou o contrato."))
    terms = terms or current_terms()
    to = acceptance_address(client)
    first_access = _first_access_link(client)
    subject = (_("Aceite do contrato e primeiro acesso — %(partner)s", partner=client.partner) if first_access
               else _("Aceite do contrato — %(partner)s", partner=client.partner))
    if document_title:
        subject = _("Aceite dos termos: %(doc)s — %(partner)s", doc=document_title, partner=client.partner)
    queue_email(
        to, subject, "contract_acceptance",
        kind="contract_acceptance", partner_id=client.partner_id, client=client, terms=terms,
        document_title=document_title,
        link=external_url("contracts.accept", token=acceptance_token(client, terms)), first_access=first_access,
        **partner_sender(client.partner),
    )
    _event(client, EventKind.ACCEPTANCE_REQUESTED, after=to, actor=actor, label=label)
    _audit("contract.acceptance_requested", client, after={"email": to, "terms_version": terms.version},
           actor=actor, label=label)
    return to


def clients_awaiting_acceptance(client_ids: list[int]) -> set[int]:
    """Of ``client_ids``, those with no acceptance yet (one query, for the dashboard badges)."""
    accepted = (select(Acceptance.client_id).join(TermsVersion)
                .where(Acceptance.client_id.in_(client_ids), TermsVersion.document == CONTRACT_DOCUMENT))
    return set(client_ids) - set(db.session.scalars(accepted))


def terms_shown(value) -> TermsVersion:
    """The terms version the form showed (so the evidence names what was read), else the current one."""
    terms_id = parse_id(value)
    terms = db.session.get(TermsVersion, terms_id) if terms_id else None
    return terms if terms is not None and terms.published_at <= utcnow() else current_terms()
