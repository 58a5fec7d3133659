"""Signed, expiring, single-use links for password reset and first access.

Single use without a table: the token carries a fingerprint of the user's current password
hash, so it stops working the moment the password changes (which is what using it does)."""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from accounts.models import User
from core.db import db

RESET = "password-reset"
FIRST_ACCESS = "first-access"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"revenda.{purpose}")


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or f"unset:{user.id}").encode()).hexdigest()[:16]


def make_user_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "fp": _fingerprint(user)})


class TokenInvalid(Exception):
    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def load_user_token(token: str, purpose: str) -> User:
    max_age = current_app.config[
        "PASSWORD_RESET_MAX_AGE" if purpose == RESET else "FIRST_ACCESS_MAX_AGE"
    ]
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenInvalid(expired=True) from None
    except BadSignature:
        raise TokenInvalid() from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        raise TokenInvalid()
    return user
