from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum
from core.permissions import Role

_hasher = PasswordHasher()
# Verified when there is no real hash to check (unknown e-mail, no password yet), so that a failed
# login costs the same time whether the account exists or not.
_DUMMY_HASH = _hasher.hash("revenda: no such account")


def check_dummy_password(password: str) -> bool:
    """Spend one argon2 verification like a real check, and fail."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass
    return False


class User(TimestampMixin, UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner = relationship("Partner", foreign_keys=[partner_id])
    client = relationship("Client", foreign_keys=[client_id])

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return check_dummy_password(password)
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def get_id(self) -> str:
        """Flask-Login's id (session and remember cookie): the user and the secret of one login.

        Set by ``accounts.sessions`` when logging in or loading a login; the secret's hash is a row of
        ``user_sessions``, so deleting the row ends that login server-side (logout, password change)."""
        secret = getattr(self, "login_secret", None)
        if not secret:
            raise RuntimeError("log users in through accounts.sessions.log_in")
        return f"{self.id}:{secret}"

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.FINANCE)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    def __str__(self) -> str:
        # What people read wherever a user is shown (the staff admin's "Criado por", "Enviado por"…).
        return self.email


class UserSession(TimestampMixin, db.Model):
    """One login (one browser): its cookie carries a random secret, this row only the secret's hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
