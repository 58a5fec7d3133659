"""Invitations to a membership ("Registre agora") and the removal of memberships.

A manager invites another manager to the partner; a client company invites users to itself. The
e-mail's link names a random token (only its hash is stored): a new e-mail sets a name and password;
an e-mail that already has a login links the accounts with that login's password ("Vincular contas").
Single-use, expiring (``INVITATION_DAYS``), resendable (a new token, the old one dies) and revocable."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import sessions
from accounts.models import Invitation, InvitationKind, Membership, User
from accounts.services import check_new_password, find_user_by_email, users_with
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import Role
from core.security import parse_id
from core.urls import public_url
from core.validators import ValidationError, clean_cpf, clean_email, clean_phone

INVITATION_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationInvalid(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- who is in a firm --------------------------------------------------------------------------------

def members_of(*, partner_id: int | None = None, client_id: int | None = None) -> list[Membership]:
    """The memberships of a partner's managers (``partner_id``) or of a company's users (``client_id``)."""
    query = select(Membership).join(User, User.id == Membership.user_id)
    if client_id is not None:
        query = query.where(Membership.role == Role.CLIENT, Membership.client_id == client_id)
    else:
        query = query.where(Membership.role == Role.MANAGER, Membership.partner_id == partner_id)
    return list(db.session.scalars(query.order_by(User.email)))


def _invitations_query(*, partner_id: int | None = None, client_id: int | None = None):
    query = select(Invitation)
    if client_id is not None:
        return query.where(Invitation.kind == InvitationKind.CLIENT_USER, Invitation.client_id == client_id)
    return query.where(Invitation.kind == InvitationKind.MANAGER, Invitation.partner_id == partner_id)


def invitations_of(*, partner_id: int | None = None, client_id: int | None = None) -> list[Invitation]:
    """Open and past invitations of one firm, newest first."""
    query = _invitations_query(partner_id=partner_id, client_id=client_id)
    return list(db.session.scalars(query.order_by(Invitation.id.desc())))


def get_invitation(invitation_id, *, partner_id: int | None = None, client_id: int | None = None) -> Invitation | None:
    """An invitation of this firm (an id from a URL), else None: another firm's reads as missing."""
    invitation_id = parse_id(invitation_id)
    if invitation_id is None:
        return None
    query = _invitations_query(partner_id=partner_id, client_id=client_id)
    return db.session.scalar(query.where(Invitation.id == invitation_id))


def get_membership(membership_id, *, partner_id: int | None = None, client_id: int | None = None):
    membership_id = parse_id(membership_id)
    return next((m for m in members_of(partner_id=partner_id, client_id=client_id) if m.id == membership_id), None)


# -- inviting ----------------------------------------------------------------------------------------

def _clean(data: dict, kind: InvitationKind) -> dict:
    errors, clean = {}, {}
    try:
        clean["email"] = clean_email(data.get("email") or "")
    except ValueError as exc:
        errors["email"] = str(exc)
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = _("Informe o nome e sobrenome.")
    elif len(name) > 200:
        errors["name"] = _("O nome deve ter no máximo 200 caracteres.")
    clean["name"] = name
    for field, rule in (("cpf", clean_cpf), ("phone", clean_phone)):
        try:
            clean[field] = rule(str(data.get(field) or "")) if kind == InvitationKind.CLIENT_USER else ""
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise ValidationError(errors)
    return clean


def _holds(email: str, role: Role, partner_id: int, client_id: int | None) -> bool:
    user = find_user_by_email(email)
    if user is None:
        return False
    return any(m.role == role and (m.client_id == client_id if role == Role.CLIENT else m.partner_id == partner_id)
               for m in user.memberships)


def _pending(email: str, kind: InvitationKind, partner_id: int, client_id: int | None, now) -> Invitation | None:
    query = select(Invitation).where(Invitation.email == email, Invitation.kind == kind,
                                     Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                                     Invitation.expires_at > now)
    query = query.where(Invitation.client_id == client_id) if client_id is not None else \
        query.where(Invitation.partner_id == partner_id)
    return db.session.scalar(query)


def invite(kind: InvitationKind, data: dict, *, partner_id: int, client_id: int | None = None, actor=None,
           firm_name: str = "") -> Invitation:
    """Invite someone (``data``: email, name, optional cpf and phone for a company's users) and e-mail
    the link. Refuses an e-mail that already holds this membership or has an open invitation to it."""
    clean = _clean(data, kind)
    now = utcnow()
    role = Role.MANAGER if kind == InvitationKind.MANAGER else Role.CLIENT
    if _holds(clean["email"], role, partner_id, client_id):
        raise ValidationError({"email": _("Este e-mail já tem acesso aqui.")})
    if _pending(clean["email"], kind, partner_id, client_id, now) is not None:
        raise ValidationError({"email": _("Já existe um convite aberto para este e-mail: use “Reenviar”.")})
    invitation = Invitation(kind=kind, partner_id=partner_id, client_id=client_id, invited_by_id=getattr(actor, "id", None),
                            token_hash="", expires_at=now, **clean)
    db.session.add(invitation)
    _send(invitation, now, firm_name=firm_name)
    audit.record("invitation.sent", invitation, actor=actor, partner_id=partner_id, client_id=client_id,
                 after={"email": invitation.email, "kind": kind.value})
    return invitation


def _send(invitation: Invitation, now: datetime, *, firm_name: str = "") -> None:
    """A new token (the previous one stops working), a new expiry, and the e-mail."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    db.session.flush()
    queue_email(invitation.email, _("Você foi convidado para a Revenda — registre agora"), "invitation",
                kind="invitation", partner_id=invitation.partner_id, invitation=invitation,
                firm=firm_name, days=INVITATION_DAYS, link=public_url("accounts.invitation", token=token))


def resend(invitation: Invitation, *, actor=None, firm_name: str = "") -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError({"invitation": _("Este convite já foi usado ou cancelado.")})
    _send(invitation, utcnow(), firm_name=firm_name)
    audit.record("invitation.resent", invitation, actor=actor, partner_id=invitation.partner_id,
                 client_id=invitation.client_id, after={"email": invitation.email})


def revoke(invitation: Invitation, *, actor=None) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError({"invitation": _("Este convite já foi usado ou cancelado.")})
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", invitation, actor=actor, partner_id=invitation.partner_id,
                 client_id=invitation.client_id, after={"email": invitation.email})
    db.session.flush()


# -- accepting ---------------------------------------------------------------------------------------

def load_invitation(token: str) -> Invitation:
    """The open invitation a link names, else InvitationInvalid with the reason in words."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token or "")))
    if invitation is None or invitation.revoked_at is not None or invitation.accepted_at is not None:
        raise InvitationInvalid(_("Este convite é inválido, foi cancelado ou já foi usado."))
    if invitation.expires_at <= utcnow():
        raise InvitationInvalid(_("Este convite expirou. Peça a quem convidou que o reenvie."))
    return invitation


def _grant(invitation: Invitation, user: User) -> Membership:
    membership = Membership(role=invitation.role, partner_id=invitation.partner_id if invitation.role == Role.MANAGER
                            else None, client_id=invitation.client_id, last_used_at=utcnow())
    user.memberships.append(membership)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    db.session.flush()
    audit.record("invitation.accepted", invitation, actor=user, partner_id=invitation.partner_id,
                 client_id=invitation.client_id, after={"email": user.email})
    return membership


def accept_as_new_user(invitation: Invitation, name: str, password: str, confirm: str) -> tuple[User, Membership]:
    """A new e-mail: name and password make the login, holding the invited membership."""
    if find_user_by_email(invitation.email) is not None:
        raise ValidationError({"password": _("Você já tem acesso com este e-mail.")})
    name = " ".join((name or "").split())
    errors = {}
    if not name:
        errors["name"] = _("Informe o nome e sobrenome.")
    try:
        check_new_password(password, confirm, field="password")
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    user = User(email=invitation.email, name=name[:200])
    user.set_password(password)
    user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    return user, _grant(invitation, user)


def link_existing_user(invitation: Invitation, password: str) -> tuple[User, Membership]:
    """An e-mail that already has a login: its password adds the membership ("Vincular contas")."""
    user = find_user_by_email(invitation.email)
    if user is None or not user.is_active or not user.check_password(password or ""):
        raise ValidationError({"password": _("Senha incorreta. Use a senha com que você já entra.")})
    if _holds(user.email, invitation.role, invitation.partner_id, invitation.client_id):
        invitation.accepted_at, invitation.accepted_by_id = utcnow(), user.id
        membership = next(m for m in user.memberships if m.role == invitation.role and (
            m.client_id == invitation.client_id if invitation.role == Role.CLIENT
            else m.partner_id == invitation.partner_id))
        return user, membership
    return user, _grant(invitation, user)


# -- removing a membership ---------------------------------------------------------------------------

def remove_membership(membership: Membership, *, actor=None) -> None:
    """Take one membership away; the user's others stay. A partner always keeps one manager."""
    if membership.role == Role.MANAGER:
        managers = db.session.scalars(users_with(Role.MANAGER, partner_id=membership.partner_id)
                                      .with_only_columns(Membership.id)).all()
        if set(managers) <= {membership.id}:
            raise ValidationError({"membership": _("Este é o último gestor da revenda: convide outro antes de "
                                                   "remover este.")})
    user = membership.user
    audit.record("membership.removed", user, actor=actor, partner_id=membership.partner_id,
                 client_id=membership.client_id,
                 before={"email": user.email, "role": membership.role})
    user.memberships.remove(membership)
    db.session.delete(membership)
    db.session.flush()
    # Logins working in it fall back to the user's default (the FK is SET NULL); none left: they end.
    if not any(m.is_usable for m in user.memberships):
        sessions.end_sessions_of_users(db.session.connection(), [user.id])
