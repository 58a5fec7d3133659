"""Account rules: authentication, password changes, reset and first-access links."""

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from accounts.models import User
from accounts.tokens import FIRST_ACCESS, RESET, make_user_token
from core import audit
from core.db import db, utcnow
from core.mail import queue_email
from core.permissions import Role
from core.validators import ValidationError

MIN_PASSWORD = 8
MAX_PASSWORD = 128


def find_user_by_email(email: str) -> User | None:
    email = (email or "").strip().lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None or not user.is_active or not user.check_password(password or ""):
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
    set_password(user, new, action="user.password_changed")


def set_password(user: User, new: str, *, action: str) -> None:
    user.set_password(new)
    user.password_changed_at = utcnow()
    audit.record(action, user, actor=user, partner_id=user.partner_id)
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
        link=url_for("accounts.reset_password", token=token, _external=True),
    )


def send_first_access(user: User) -> None:
    token = make_user_token(user, FIRST_ACCESS)
    queue_email(
        user.email,
        _("Bem-vindo à Revenda — defina sua senha"),
        "welcome",
        kind="welcome",
        partner_id=user.partner_id,
        user=user,
        link=url_for("accounts.first_access", token=token, _external=True),
    )


def create_user(email: str, role: Role, *, password: str | None = None, name: str = "", **links) -> User:
    user = User(email=email.lower(), role=role, name=name, **links)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
