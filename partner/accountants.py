"""Accountants linked to client companies by acceptance (seed 000 A, D).

A client, or its partner's manager, names an accountant's e-mail; the accountant receives
"<Revenda> – Notas <Razão social>" with a single-use link. Until it is accepted the accountant sees
nothing of the company; removal (by the client or manager) or dropping it (by the accountant) takes
effect at once, because every accountant query goes through :func:`accepted_client_ids`."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from accounts.models import User
from accounts.services import create_user
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import Role
from core.urls import public_url
from core.validators import ValidationError, clean_email
from partner.models import AccountantLink, Client, LinkStatus

#: Days an invitation link stays valid.
INVITE_DAYS = 14


class LinkInvalid(Exception):
    """An acceptance link that is unknown, used, revoked or expired."""

    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def accepted_client_ids(user_id: int) -> Select:
    """The ids of the companies whose invitation the user accepted and still holds."""
    return select(AccountantLink.client_id).where(
        AccountantLink.user_id == user_id, AccountantLink.status == LinkStatus.ACCEPTED
    )


def accepted_links(user_id: int) -> list[AccountantLink]:
    """The user's accepted links with their companies, by group then company name."""
    return list(db.session.scalars(
        select(AccountantLink).join(Client, Client.id == AccountantLink.client_id)
        .where(AccountantLink.user_id == user_id, AccountantLink.status == LinkStatus.ACCEPTED)
        .order_by(AccountantLink.group_name, Client.sort_name, Client.id)
    ))


def links_of(client: Client) -> list[AccountantLink]:
    """Every link of a company, newest first (what the client and the manager see)."""
    return list(db.session.scalars(
        select(AccountantLink).where(AccountantLink.client_id == client.id)
        .order_by(AccountantLink.created_at.desc(), AccountantLink.id.desc())
    ))


def get_link_of(client: Client, link_id: int | None) -> AccountantLink | None:
    if link_id is None:
        return None
    return db.session.scalar(
        select(AccountantLink).where(AccountantLink.id == link_id, AccountantLink.client_id == client.id)
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def _accountant_user(email: str, field: str) -> User:
    """The accountant's login: the existing one, or a new one without a password (set at first access)."""
    user = _find_user(email)
    if user is None:
        return create_user(email, Role.ACCOUNTANT)
    if user.role != Role.ACCOUNTANT:
        # TODO(members): after the `members` merge add an "acts as accountant" membership here instead.
        raise ValidationError({field: _("Este e-mail já é usado por um acesso que não é de contador. "
                                        "Informe outro e-mail para o contador.")})
    return user


def invite_accountant(client: Client, email: str, *, actor=None, field: str = "accountant_email") -> AccountantLink:
    """Name ``email`` as an accountant of ``client``: a pending link and the acceptance e-mail.

    Naming an accountant already accepted changes nothing; one pending, declined or removed is invited
    again with a fresh link (the previous link stops working)."""
    try:
        email = clean_email(email)
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None
    _accountant_user(email, field)
    link = db.session.scalar(
        select(AccountantLink).where(AccountantLink.client_id == client.id, AccountantLink.email == email)
    )
    if link is not None and link.status == LinkStatus.ACCEPTED:
        return link
    if link is None:
        link = AccountantLink(client_id=client.id, email=email)
        db.session.add(link)
    link.status = LinkStatus.PENDING
    link.ended_at = None
    link.invited_by_id = actor.id if actor is not None else None
    db.session.flush()
    _send_invitation(link, client, actor=actor, action="accountant.invited")
    return link


def resend_invitation(link: AccountantLink, *, actor=None) -> None:
    """A new acceptance e-mail (and link) for a pending invitation."""
    if link.status != LinkStatus.PENDING:
        raise ValidationError({"link": _("Só é possível reenviar um convite pendente.")})
    _send_invitation(link, link.client, actor=actor, action="accountant.resent")


def _send_invitation(link: AccountantLink, client: Client, *, actor, action: str) -> None:
    token = secrets.token_urlsafe(32)
    link.token_hash = _hash(token)
    link.invited_at = utcnow()
    link.expires_at = link.invited_at + timedelta(days=current_app.config.get("ACCOUNTANT_INVITE_DAYS", INVITE_DAYS))
    partner = client.partner
    queue_email(
        link.email,
        f"{partner} – " + _("Notas %(name)s", name=client.legal_name),
        "accountant_invitation",
        kind="accountant_invitation",
        partner_id=client.partner_id,
        sender_name=str(partner),
        client=client,
        partner=partner,
        days=(link.expires_at - link.invited_at).days,
        link=public_url("portal.accept", token=token),
    )
    audit.record(action, link, actor=actor, partner_id=client.partner_id, client_id=client.id,
                 after={"email": link.email})
    db.session.flush()


def load_invitation(token: str) -> AccountantLink:
    """The pending link a token names, while it is valid."""
    if not token or len(token) > 200:
        raise LinkInvalid()
    link = db.session.scalar(select(AccountantLink).where(AccountantLink.token_hash == _hash(token)))
    if link is None or link.status != LinkStatus.PENDING:
        raise LinkInvalid()
    if link.expires_at is None or link.expires_at <= utcnow():
        raise LinkInvalid(expired=True)
    return link


def invited_user(link: AccountantLink) -> User | None:
    return _find_user(link.email)


def accept_invitation(link: AccountantLink, user: User) -> None:
    """The accountant (logged in as the invited e-mail) accepts: the company joins their list."""
    if user.email.lower() != link.email or user.role != Role.ACCOUNTANT:
        raise LinkInvalid()
    link.status = LinkStatus.ACCEPTED
    link.user_id = user.id
    link.accepted_at = utcnow()
    link.token_hash = None  # single use
    link.expires_at = None
    audit.record("accountant.accepted", link, actor=user, partner_id=link.client.partner_id,
                 client_id=link.client_id, after={"email": link.email})
    db.session.flush()


def decline_invitation(link: AccountantLink, user: User | None = None) -> None:
    """The accountant says no to a pending invitation (from the e-mail's link)."""
    _end(link, LinkStatus.DECLINED, actor=user, action="accountant.declined")


def drop_company(link: AccountantLink, user: User) -> None:
    """The accountant stops following a company."""
    _end(link, LinkStatus.DECLINED, actor=user, action="accountant.dropped")


def revoke_link(link: AccountantLink, *, actor=None) -> None:
    """The client or its manager removes the accountant: at once, with any pending link."""
    if link.status in (LinkStatus.REMOVED, LinkStatus.DECLINED):
        return
    _end(link, LinkStatus.REMOVED, actor=actor, action="accountant.removed")


def _end(link: AccountantLink, status: LinkStatus, *, actor, action: str) -> None:
    before = link.status
    link.status = status
    link.token_hash = None
    link.expires_at = None
    link.ended_at = utcnow()
    audit.record(action, link, actor=actor, partner_id=link.client.partner_id, client_id=link.client_id,
                 before={"link_status": before.value}, after={"link_status": status.value, "email": link.email})
    db.session.flush()


def accountant_email_named(client: Client, previous: str | None, *, actor=None) -> None:
    """The client's "E-mail do contador" changed: the previous accountant's link ends, the new one is invited."""
    current = (client.accountant_email or "").strip().lower() or None
    previous = (previous or "").strip().lower() or None
    if current == previous:
        return
    if previous:
        old = db.session.scalar(
            select(AccountantLink).where(AccountantLink.client_id == client.id, AccountantLink.email == previous)
        )
        if old is not None:
            revoke_link(old, actor=actor)
    if current:
        invite_accountant(client, current, actor=actor)


def set_group(link: AccountantLink, group_name: str) -> None:
    link.group_name = (group_name or "").strip()[:100]
    db.session.flush()


def set_export_day(link: AccountantLink, day) -> None:
    """The accountant's day of the month for this company's automatic export (empty: the default, 5)."""
    if day in (None, ""):
        link.export_day = None
    else:
        try:
            value = int(str(day).strip())
        except ValueError:
            value = 0
        if not 1 <= value <= 28:
            raise ValidationError({"export_day": _("Escolha um dia entre 1 e 28.")})
        link.export_day = value
    audit.record("accountant.export_day_changed", link, actor=link.user, partner_id=link.client.partner_id,
                 client_id=link.client_id, after={"export_day": link.export_day})
    db.session.flush()
