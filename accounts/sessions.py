"""Server-side logins: each login is a ``user_sessions`` row, named in the cookie by a random secret.

Flask's session is a signed cookie, which a thief can replay for as long as it is valid. Here the
cookie (and the remember-me cookie) carries ``"<user id>:<secret>"`` (``User.get_id``) and every
request looks the secret's hash up, so a login ends for good when its row goes: at logout (that
login), at a password change (every other login), at a reset and at deactivation (all of them).
Nothing is written on ordinary requests."""

import hashlib
import secrets
from datetime import datetime

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.orm import Session

from accounts.models import Membership, User, UserSession
from core.db import db, utcnow


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def can_log_in(user: User | None) -> bool:
    """Active user with a usable membership (staff deactivating a partner locks its managers' panel)."""
    if user is None or not user.is_active:
        return False
    return any(membership.is_usable for membership in user.memberships)


def start_session(user: User, now: datetime | None = None, membership: Membership | None = None) -> str:
    """A new login row for ``user`` working in ``membership`` (default: the one used last); returns the id
    Flask-Login keeps (``User.get_id``)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    membership = membership or user.default_membership()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    db.session.flush()  # a membership just created needs its id
    db.session.add(UserSession(user_id=user.id, secret_hash=_hash(secret), created_at=now,
                               membership_id=membership.id if membership is not None else None,
                               expires_at=now + current_app.config["REMEMBER_COOKIE_DURATION"]))
    db.session.flush()
    if membership is not None:
        user.use_membership(membership)
    user.login_secret = secret
    return user.get_id()


def switch_membership(user: User, membership: Membership, now: datetime | None = None) -> None:
    """This login now works in ``membership`` (one of ``user``'s, usable), remembered for the next login."""
    if membership.user_id != user.id or not membership.is_usable:
        raise ValueError("not a usable membership of this user")
    current = _current_secret_hash()
    if current is not None:
        db.session.execute(update(UserSession).where(UserSession.secret_hash == current,
                                                     UserSession.user_id == user.id)
                           .values(membership_id=membership.id))
    membership.last_used_at = now or utcnow()
    user.use_membership(membership)
    db.session.flush()


def log_in(user: User, *, remember: bool = False, membership: Membership | None = None) -> None:
    """Log ``user`` in on this browser (a new server-side login; remember-me for at most 30 days)."""
    start_session(user, membership=membership)
    login_user(user, remember=remember, duration=current_app.config["REMEMBER_COOKIE_DURATION"])
    session.permanent = True


def _parse(login_id) -> tuple[int, str] | None:
    user_id, _sep, secret = str(login_id or "").partition(":")
    if not user_id.isdigit() or not secret:
        return None
    return int(user_id), secret


def load_user(login_id) -> User | None:
    """Flask-Login's user loader: the user of a live login, else None (anonymous)."""
    parsed = _parse(login_id)
    if parsed is None:
        return None  # also the bare user ids of cookies issued before server-side logins
    user_id, secret = parsed
    row = db.session.scalar(select(UserSession).where(UserSession.secret_hash == _hash(secret)))
    if row is None or row.user_id != user_id or row.expires_at <= utcnow():
        return None
    user = db.session.get(User, user_id)
    if not can_log_in(user):
        return None
    chosen = next((m for m in user.memberships if m.id == row.membership_id and m.is_usable), None)
    user.use_membership(chosen or user.default_membership())
    user.login_secret = secret
    return user


def _current_secret_hash() -> str | None:
    parsed = _parse(session.get("_user_id"))
    return _hash(parsed[1]) if parsed else None


def log_out() -> None:
    """End this browser's login (its row, so the old cookies cannot be replayed) and forget the cookies."""
    current = _current_secret_hash()
    if current is not None:
        db.session.execute(delete(UserSession).where(UserSession.secret_hash == current))
    logout_user()


def end_sessions(user: User, *, keep_current: bool = False) -> int:
    """End every login of ``user`` (all but this browser's with ``keep_current``); returns how many."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    current = _current_secret_hash() if keep_current else None
    if current is not None:
        statement = statement.where(UserSession.secret_hash != current)
    return db.session.execute(statement).rowcount


def end_sessions_of_users(connection, user_ids) -> None:
    """For flush hooks: end the logins of ``user_ids`` on ``connection`` (no ORM flush inside a flush)."""
    ids = sorted(set(user_ids))
    if ids:
        connection.execute(delete(UserSession.__table__).where(UserSession.__table__.c.user_id.in_(ids)))


def turned_off(obj, attribute: str = "is_active") -> bool:
    """Whether ``obj`` is being set inactive in this flush (the old value may not be loaded: no matter,
    ending the logins of someone already inactive changes nothing)."""
    return inspect(obj).attrs[attribute].history.has_changes() and getattr(obj, attribute) is False


@event.listens_for(Session, "before_flush")
def _end_sessions_of_deactivated_users(session, flush_context, instances):
    """However a user is deactivated (staff admin form, action, service), its logins end with it."""
    ids = [obj.id for obj in session.dirty if isinstance(obj, User) and obj.id is not None and turned_off(obj)]
    if ids:
        end_sessions_of_users(session.connection(), ids)
