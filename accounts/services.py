"""Account rules: authentication, password changes, reset and first-access links."""

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, inspect, select

from accounts.models import User, check_dummy_password
from accounts.sessions import can_log_in, end_sessions
from accounts.tokens import FIRST_ACCESS, RESET, make_user_token
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import Role
from core.urls import public_url
from core.validators import ValidationError, clean_email

MIN_PASSWORD = 8
MAX_PASSWORD = 128


def find_user_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None:
        check_dummy_password(password or "")  # as slow as a wrong password: no hint the e-mail is unknown
        return None
    if not user.check_password(password or "") or not can_log_in(user):
        return None
    user.last_login_at = utcnow()
    return user


def check_new_password(new: str, confirm: str, field: str = "new_password") -> None:
    if len(new or "") < MIN_PASSWORD:
        raise ValidationError({field: _("A senha deve ter pelo menos %(n)s caracteres.", n=MIN_PASSWORD)})
    if len(new) > MAX_PASSWORD:
        raise ValidationError({field: _("A senha deve ter no máximo %(n)s caracteres.", n=MAX_PASSWORD)})
    if new != confirm:
        raise ValidationError({"confirm_password": _("A confirmação não confere com a nova senha.")})


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """'Alterar senha': the current password, then a new one twice."""
    if not user.check_password(current or ""):
        raise ValidationError({"current_password": _("Senha atual incorreta.")})
    check_new_password(new, confirm)
    set_password(user, new, action="user.password_changed", keep_current_session=True)


def set_password(user: User, new: str, *, action: str, keep_current_session: bool = False) -> None:
    """Store a new password and end the user's other logins (all of them after a reset or first access)."""
    user.set_password(new)
    user.password_changed_at = utcnow()
    audit.record(action, user, actor=user, partner_id=user.partner_id)
    end_sessions(user, keep_current=keep_current_session)
    db.session.flush()


def send_password_reset(email: str) -> None:
    """Queue a reset e-mail when the account exists; say nothing either way (no enumeration)."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = make_user_token(user, RESET)
    queue_email(
        user.email,
        _("Redefinição de senha — Revenda"),
        "password_reset",
        kind="password_reset",
        user=user,
        link=public_url("accounts.reset_password", token=token),
    )


def send_reset_link_by_staff(user: User, *, actor=None) -> bool:
    """Staff's "enviar link de redefinição" (seed F, done right): the user gets a reset link, never a
    password chosen by someone else; audited. False for a deactivated user."""
    if not user.is_active:
        return False
    token = make_user_token(user, RESET)
    queue_email(user.email, _("Redefinição de senha — Revenda"), "password_reset", kind="password_reset", user=user,
                link=public_url("accounts.reset_password", token=token))
    audit.record("user.reset_link_sent", user, actor=actor, partner_id=user.partner_id, after={"email": user.email})
    db.session.flush()
    return True


def send_first_access(user: User) -> None:
    token = make_user_token(user, FIRST_ACCESS)
    queue_email(
        user.email,
        _("Bem-vindo à Revenda — defina sua senha"),
        "welcome",
        kind="welcome",
        partner_id=user.partner_id,
        user=user,
        link=public_url("accounts.first_access", token=token),
    )


def create_user(email: str, role: Role, *, password: str | None = None, name: str = "", **links) -> User:
    user = User(email=email.lower(), role=role, name=name, **links)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


# -- users managed by staff (the staff admin's "Usuários") ------------------------------------------

#: What the staff admin edits on a user, as audited.
MANAGED_FIELDS = ("email", "name", "role", "partner_id", "is_active")


def check_user_account(email, role, partner, *, is_active: bool = True, user: User | None = None,
                       actor: User | None = None) -> str:
    """Rules for a user created (``user`` None) or edited by staff; returns the normalised e-mail.

    A valid e-mail no other user has (case-insensitive); a role; a partner for managers and for
    nobody else; client users only come from a client's registration; nobody deactivates or
    demotes themselves (a locked-out last admin cannot be undone from here)."""
    errors = {}
    try:
        email = clean_email(email)
    except ValueError as exc:
        errors["email"] = str(exc)
    else:
        other = find_user_by_email(email)
        if other is not None and other is not user:
            errors["email"] = _("Já existe um usuário com este e-mail.")
    if role is None:
        errors["role"] = _("Escolha o papel do usuário.")
    elif role == Role.MANAGER and partner is None:
        errors["partner"] = _("Escolha a revenda do gestor.")
    elif role != Role.MANAGER and partner is not None:
        errors["partner"] = _("Só gestores pertencem a uma revenda: deixe este campo vazio.")
    if role == Role.CLIENT and (user is None or user.client_id is None):
        errors["role"] = _("Usuários de cliente são criados pelo cadastro do cliente na revenda.")
    elif user is not None and user.client_id is not None and role != Role.CLIENT:
        errors["role"] = _("Este usuário é de um cliente: o papel não pode mudar.")
    if user is not None and actor is not None and user.id == actor.id:
        if role != user.role:
            errors["role"] = _("Você não pode mudar o próprio papel.")
        if not is_active:
            errors["is_active"] = _("Você não pode desativar o próprio usuário.")
    if errors:
        raise ValidationError(errors)
    return email


def _managed_values(user: User) -> dict:
    # ``partner`` is what a form sets; ``partner_id`` follows it only at flush.
    partner_id = user.partner.id if user.partner is not None else user.partner_id
    return {"email": user.email, "name": user.name, "role": user.role, "partner_id": partner_id,
            "is_active": user.is_active}


def _values_before_change(user: User) -> dict:
    state = inspect(user)
    before = {}
    for field in ("email", "name", "role", "is_active"):
        history = state.attrs[field].history
        before[field] = history.deleted[0] if history.deleted else getattr(user, field)
    before["partner_id"] = user.partner_id  # the column still holds the old value before the flush
    return before


def record_user_saved(user: User, *, created: bool, actor: User | None = None) -> None:
    """Audit a user the staff admin created or changed (only the fields that changed)."""
    if created:
        db.session.flush()
        audit.record("user.created", user, after=_managed_values(user), actor=actor,
                     partner_id=user.partner_id)
        db.session.flush()
        return
    before, after = audit.changed(_values_before_change(user), _managed_values(user))
    if not after:
        return
    action = "user.deactivated" if after.get("is_active") is False else "user.updated"
    db.session.flush()
    audit.record(action, user, before=before, after=after, actor=actor, partner_id=user.partner_id)
    db.session.flush()


def deactivate_user(user: User, *, actor: User | None = None) -> bool:
    """Block a user's access (users are never deleted: audit and history point at them).

    Returns whether anything changed; refuses the acting user's own account."""
    if actor is not None and user.id == actor.id:
        raise ValidationError({"is_active": _("Você não pode desativar o próprio usuário.")})
    if not user.is_active:
        return False
    user.is_active = False
    audit.record("user.deactivated", user, before={"is_active": True}, after={"is_active": False}, actor=actor,
                 partner_id=user.partner_id)
    db.session.flush()
    return True


# -- a client's login e-mail, changed by its partner's manager --------------------------------------

EMAIL_CHANGE = "email-change"


def _email_change_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="revenda.email-change")


def request_email_change(user: User, new_email: str, *, actor=None) -> None:
    """Someone else (a partner's manager) changed the e-mail of ``user``'s company: the login moves only
    when the new address confirms, with the account's own password when it has one (so whoever typed
    the new address cannot take the login over); the old address is told."""
    new_email = new_email.strip().lower()
    if new_email == user.email:
        return
    token = _email_change_serializer().dumps({"u": user.id, "old": user.email, "new": new_email})
    queue_email(new_email, _("Confirme seu novo e-mail de acesso — Revenda"), "email_change_confirm",
                kind="email_change_confirm", user=user, new_email=new_email,
                link=public_url("accounts.confirm_email_change", token=token))
    queue_email(user.email, _("Pedido de troca do seu e-mail de acesso — Revenda"), "email_change_notice",
                kind="email_change_notice", user=user, new_email=new_email)
    audit.record("user.email_change_requested", user, actor=actor, partner_id=user.partner_id,
                 before={"email": user.email}, after={"email": new_email})


class EmailChangeInvalid(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def load_email_change(token: str) -> tuple[User, str]:
    """The user and new address a confirmation link names, while it still applies."""
    max_age = current_app.config["FIRST_ACCESS_MAX_AGE"]
    try:
        data = _email_change_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise EmailChangeInvalid(_("Este link de confirmação expirou. Peça à sua revenda que altere o e-mail "
                                   "novamente.")) from None
    except BadSignature:
        data = None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_active or user.email != data.get("old"):
        raise EmailChangeInvalid(_("Este link de confirmação é inválido ou já foi usado."))
    return user, data["new"]


def confirm_email_change(user: User, new_email: str, password: str) -> None:
    """Move the login to ``new_email``; the account's password proves it is the account's owner."""
    if user.password_hash and not user.check_password(password or ""):
        raise ValidationError({"password": _("Senha incorreta. Use a senha com que você entra hoje.")})
    other = find_user_by_email(new_email)
    if other is not None and other.id != user.id:
        raise ValidationError({"password": _("Este e-mail já é usado por outro acesso.")})
    old = user.email
    user.email = new_email
    audit.record("user.email_changed", user, actor=user, partner_id=user.partner_id,
                 before={"email": old}, after={"email": new_email})
    end_sessions(user)  # logins made under the old address end with it
    db.session.flush()
    if not user.password_hash:
        send_first_access(user)  # never activated: the first access now goes to the confirmed address
