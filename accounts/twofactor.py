"""Two-factor authentication (TOTP): enrolment, codes, recovery codes, remembered browsers, enforcement.

One secret per user (whatever the user's roles), envelope-encrypted at rest with the master keys
(``core.keyring``); recovery codes and remembered-browser tokens are kept as SHA-256 hashes only.
A code is accepted once: the time step it belongs to is stored, and no step at or before it works
again (a code seen over someone's shoulder cannot be replayed within its 90 seconds).

Required for staff and for the managers of a partner that turned it on (``Partner.require_two_factor``);
the views send such a user to enrolment until it is done. Services flush, never commit.
"""

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timedelta

import pyotp
import segno
from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, LargeBinary, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from accounts.models import User
from accounts.sessions import can_log_in, end_sessions
from core import audit
from core.db import TimestampMixin, UTCDateTime, db, utcnow
from core.keyring import get_keyring
from core.mail import queue_email
from core.permissions import Role
from core.urls import public_url
from core.validators import ValidationError

ISSUER = "Revenda"
STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # the step before and after: clocks of phones drift
RECOVERY_CODES = 10
REMEMBER_DAYS = 30
REMEMBER_COOKIE = "revenda_2fa_browser"
#: Anything longer than this is not a code: refused before any work.
MAX_CODE_INPUT = 64
# Recovery codes: 10 characters from an alphabet without look-alikes (no 0/o, 1/l/i), 50 bits.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_RE = re.compile(rf"[{_ALPHABET}]{{10}}")
_TOTP_RE = re.compile(rf"[0-9]{{{DIGITS}}}")  # ASCII only: \d takes any script's digits


class TwoFactor(TimestampMixin, db.Model):
    """A user's TOTP secret: pending until ``enabled_at`` (enrolment confirmed with a valid code)."""

    __tablename__ = "user_two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))  # master key wrapping the secret (rotation)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None]  # time step of the last accepted code: no replay

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None


class RecoveryCode(TimestampMixin, db.Model):
    """One single-use recovery code, hashed; a regeneration deletes the whole set."""

    __tablename__ = "two_factor_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RememberedBrowser(TimestampMixin, db.Model):
    """"Lembrar este navegador por 30 dias": the cookie carries a random token, this row its hash."""

    __tablename__ = "two_factor_browsers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- state and enforcement ------------------------------------------------------------------------


def _row(user: User) -> TwoFactor | None:
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))


def is_enabled(user: User) -> bool:
    row = _row(user)
    return row is not None and row.is_enabled


def is_required(user: User) -> bool:
    """Staff always; a partner's managers when the partner turned it on.

    2FA belongs to the person, not to one firm: any membership that needs it (staff, or manager of a partner
    that requires it) makes it required for the whole login, whichever firm is active."""
    for membership in user.memberships:
        if membership.is_staff:
            return True
        if membership.role == Role.MANAGER and membership.partner is not None \
                and getattr(membership.partner, "require_two_factor", False):
            return True
    return False


def must_enroll(user: User) -> bool:
    return is_required(user) and not is_enabled(user)


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# -- secrets ----------------------------------------------------------------------------------------


def _aad(user_id: int) -> bytes:
    return f"user:{user_id}:totp".encode()


def _secret(row: TwoFactor) -> str:
    return get_keyring().decrypt(row.secret_encrypted, aad=_aad(row.user_id)).decode("ascii")


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pending_secret(user: User) -> str:
    """The secret being enrolled (a new one the first time); refuses when 2FA is already on."""
    row = _row(user)
    if row is not None and row.is_enabled:
        raise ValidationError({"code": _("A verificação em duas etapas já está ativada.")})
    if row is None:
        ring = get_keyring()
        secret = pyotp.random_base32()
        row = TwoFactor(user_id=user.id, secret_encrypted=ring.encrypt(secret.encode("ascii"), aad=_aad(user.id)),
                        key_id=ring.active_key_id)
        db.session.add(row)
        db.session.flush()
        return secret
    return _secret(row)


def provisioning_uri(user: User, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The enrolment QR as an SVG data URI (no inline script, allowed by the CSP's img-src data:)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# -- checking codes ---------------------------------------------------------------------------------


def normalise_code(code) -> str:
    """What the user typed, without spaces and dashes, lower-case ("" for garbage or huge input)."""
    if not isinstance(code, str) or len(code) > MAX_CODE_INPUT:
        return ""
    return re.sub(r"[\s-]", "", code).lower()


def _matching_step(row: TwoFactor, code: str, now: datetime) -> int | None:
    totp = _totp(_secret(row))
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_totp(row: TwoFactor, code: str, now: datetime) -> bool:
    if not _TOTP_RE.fullmatch(code):
        return False
    step = _matching_step(row, code, now)
    if step is None or (row.last_step is not None and step <= row.last_step):
        return False
    row.last_step = step
    return True


def _use_recovery(user: User, code: str, now: datetime) -> bool:
    if not _RECOVERY_RE.fullmatch(code):
        return False
    found = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None)))
    if found is None:
        return False
    found.used_at = now
    audit.record("user.two_factor_recovery_used", user, actor=user, partner_id=user.partner_id,
                 after={"remaining": remaining_recovery_codes(user)})
    return True


def verify(user: User, code, *, allow_recovery: bool = True, now: datetime | None = None) -> str | None:
    """Check a code of ``user``'s enabled 2FA: ``"totp"`` or ``"recovery"`` when accepted (and now used),
    None otherwise. Each code works once."""
    row = _row(user)
    if row is None or not row.is_enabled:
        return None
    now = now or utcnow()
    code = normalise_code(code)
    if _use_totp(row, code, now):
        db.session.flush()
        return "totp"
    if allow_recovery and _use_recovery(user, code, now):
        db.session.flush()
        return "recovery"
    return None


def _check_password(user: User, password, errors: dict) -> None:
    if not isinstance(password, str) or len(password) > 128 or not user.check_password(password):
        errors["password"] = _("Senha incorreta.")


def _bad_code_message() -> str:
    return _("Código inválido ou expirado. Digite o código de 6 dígitos que o aplicativo mostra agora.")


# -- enable, regenerate, disable, reset ---------------------------------------------------------------


def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code), created_at=now) for code in codes)
    db.session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def enable(user: User, password, code, *, now: datetime | None = None) -> list[str]:
    """Turn 2FA on with the pending secret: the account's password and a valid code from the new secret.
    Returns the ten recovery codes, to show once."""
    now = now or utcnow()
    row = _row(user)
    if row is None or row.is_enabled:
        raise ValidationError({"code": _("Comece a ativação de novo: leia o QR code e digite o código.")})
    errors: dict = {}
    _check_password(user, password, errors)
    if not _use_totp(row, normalise_code(code), now):
        errors["code"] = _bad_code_message()
    if errors:
        raise ValidationError(errors)
    row.enabled_at = now
    audit.record("user.two_factor_enabled", user, actor=user, partner_id=user.partner_id)
    return _new_recovery_codes(user, now)


def regenerate_recovery_codes(user: User, password, *, now: datetime | None = None) -> list[str]:
    """A new set of ten codes (the password confirms); the old set stops working."""
    if not is_enabled(user):
        raise ValidationError({"password": _("A verificação em duas etapas não está ativada.")})
    errors: dict = {}
    _check_password(user, password, errors)
    if errors:
        raise ValidationError(errors)
    codes = _new_recovery_codes(user, now or utcnow())
    audit.record("user.two_factor_codes_regenerated", user, actor=user, partner_id=user.partner_id)
    return codes


def _clear(user: User) -> None:
    for model in (TwoFactor, RecoveryCode, RememberedBrowser):
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.flush()


def disable(user: User, password, code, *, now: datetime | None = None) -> None:
    """Turn 2FA off: the password and a code (or a recovery code); never when it is required."""
    if is_required(user):
        raise ValidationError({"code": _("A verificação em duas etapas é obrigatória para o seu acesso e não "
                                         "pode ser desativada.")})
    if not is_enabled(user):
        raise ValidationError({"code": _("A verificação em duas etapas não está ativada.")})
    errors: dict = {}
    _check_password(user, password, errors)
    if not errors and verify(user, code, now=now) is None:
        errors["code"] = _bad_code_message()
    if errors:
        raise ValidationError(errors)
    _clear(user)
    audit.record("user.two_factor_disabled", user, actor=user, partner_id=user.partner_id)


def reset_by_staff(user: User, *, actor: User) -> bool:
    """Staff clear a user's 2FA (lost phone and codes): secret, codes, remembered browsers and logins go;
    the user is told by e-mail. Returns False when there was nothing to reset."""
    if actor is not None and user.id == actor.id:
        raise ValidationError({"two_factor": _("Você não pode redefinir a sua própria verificação em duas "
                                               "etapas.")})
    row = _row(user)
    if row is None or not row.is_enabled:
        if row is not None:
            _clear(user)  # an enrolment begun and never confirmed: nothing the user relies on
        return False
    _clear(user)
    end_sessions(user)
    audit.record("user.two_factor_reset", user, actor=actor, partner_id=user.partner_id)
    queue_email(user.email, _("Sua verificação em duas etapas foi redefinida — Revenda"), "two_factor_reset",
                kind="two_factor_reset", partner_id=user.partner_id, user=user,
                required=is_required(user), link=public_url("accounts.login"))
    return True


# -- the login's pending second step ----------------------------------------------------------------

PENDING_KEY = "2fa_pending"
PENDING_SECONDS = 300


def start_pending_login(user: User, *, remember: bool, next_url: str | None) -> None:
    """The password was right and ``user`` has 2FA: remember, in Flask's signed session, who is half-way
    (the id, an expiry of a few minutes, the choices made on the login form); no login yet."""
    session[PENDING_KEY] = {"uid": user.id, "exp": int(time.time()) + PENDING_SECONDS,
                            "remember": bool(remember), "next": next_url, "fp": _password_fingerprint(user)}


def _password_fingerprint(user: User) -> str:
    # The password that opened the first step: a reset in between voids the pending login.
    return _hash(f"{user.id}:{user.password_hash or ''}")[:16]


def pending_login() -> tuple[User | None, dict | None]:
    """The user half-way through the login and the pending choices, while still valid."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int) or pending.get("exp", 0) < time.time():
        return None, None
    user = db.session.get(User, pending["uid"])
    if not can_log_in(user) or not is_enabled(user) or pending.get("fp") != _password_fingerprint(user):
        return None, None
    return user, pending


def forget_pending_login() -> None:
    session.pop(PENDING_KEY, None)


# -- remembered browsers ------------------------------------------------------------------------------


def remember_browser(user: User, *, now: datetime | None = None) -> str:
    """A new remembered browser for ``user``; returns the cookie value (shown to nobody else)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(RememberedBrowser).where(RememberedBrowser.user_id == user.id,
                                                       RememberedBrowser.expires_at <= now))
    db.session.add(RememberedBrowser(user_id=user.id, token_hash=_hash(token), created_at=now,
                                     expires_at=now + timedelta(days=REMEMBER_DAYS)))
    db.session.flush()
    return token


def is_remembered(user: User, token, *, now: datetime | None = None) -> bool:
    if not isinstance(token, str) or not token or len(token) > 100:
        return False
    row = db.session.scalar(select(RememberedBrowser).where(RememberedBrowser.token_hash == _hash(token)))
    return row is not None and row.user_id == user.id and row.expires_at > (now or utcnow())


def forget_browsers(user: User) -> None:
    """No browser skips the code any more (password changed, 2FA disabled or reset)."""
    db.session.execute(delete(RememberedBrowser).where(RememberedBrowser.user_id == user.id))


def remember_cookie_args() -> dict:
    config = current_app.config
    return {"max_age": REMEMBER_DAYS * 24 * 3600, "httponly": True, "samesite": "Lax",
            "secure": bool(config.get("SESSION_COOKIE_SECURE")), "path": "/"}


# -- the partner's policy -----------------------------------------------------------------------------


def set_partner_requirement(partner, required: bool, *, actor: User) -> bool:
    """A partner's managers turn required 2FA for the partner's managers on or off (audited).
    ``partner`` is a ``partner.models.Partner`` (accounts sits below partner and does not import it)."""
    required = bool(required)
    if bool(partner.require_two_factor) == required:
        return False
    audit.record("partner.two_factor_policy", partner, actor=actor, partner_id=partner.id,
                 before={"require_two_factor": bool(partner.require_two_factor)},
                 after={"require_two_factor": required})
    partner.require_two_factor = required
    db.session.flush()
    return True
