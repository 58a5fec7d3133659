import enum
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
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
    is_active: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id")

    # -- the active membership ---------------------------------------------------------------------
    # ``role``, ``partner_id``, ``client_id``, ``partner`` and ``client`` are those of the ACTIVE
    # membership: the one this login chose (``user_sessions.membership_id``, set by
    # accounts.sessions.load_user), else the one used last. So every permission check and every scoped
    # query that reads them follows the firm the user is working in, and only that one.

    @property
    def membership(self) -> "Membership | None":
        chosen = self.__dict__.get("_active_membership")
        if chosen is not None and chosen in self.memberships:
            return chosen
        return self.default_membership()

    def default_membership(self) -> "Membership | None":
        """The membership a new login starts in: the usable one used last (else the oldest)."""
        usable = [m for m in self.memberships if m.is_usable] or list(self.memberships)
        if not usable:
            return None
        return max(usable, key=lambda m: (m.last_used_at is not None, m.last_used_at or 0, -(m.id or 0)))

    def use_membership(self, membership: "Membership") -> None:
        """Make ``membership`` (one of this user's) the active one for this object's lifetime."""
        self.__dict__["_active_membership"] = membership

    def _editable_membership(self) -> "Membership":
        # Constructor keywords (``User(role=..., partner=...)``) and the staff admin's form set these on
        # the active membership, creating the first one when there is none.
        membership = self.membership
        if membership is None:
            membership = Membership()
            self.memberships.append(membership)
            self.use_membership(membership)
        return membership

    @property
    def role(self) -> Role | None:
        membership = self.membership
        return membership.role if membership is not None else None

    @role.setter
    def role(self, value) -> None:
        self._editable_membership().role = Role(value) if value is not None else None

    @property
    def partner_id(self) -> int | None:
        membership = self.membership
        if membership is None:
            return None
        return membership.partner.id if membership.partner is not None else membership.partner_id

    @partner_id.setter
    def partner_id(self, value) -> None:
        self._editable_membership().partner_id = value

    @property
    def client_id(self) -> int | None:
        membership = self.membership
        if membership is None:
            return None
        return membership.client.id if membership.client is not None else membership.client_id

    @client_id.setter
    def client_id(self, value) -> None:
        self._editable_membership().client_id = value

    @property
    def partner(self):
        membership = self.membership
        return membership.partner if membership is not None else None

    @partner.setter
    def partner(self, value) -> None:
        self._editable_membership().partner = value

    @property
    def client(self):
        membership = self.membership
        return membership.client if membership is not None else None

    @client.setter
    def client(self, value) -> None:
        self._editable_membership().client = value

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
    # The membership this login works in (None: the user's default); a membership removed while in use
    # leaves the login in the default one.
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id", ondelete="SET NULL"))


class Membership(TimestampMixin, db.Model):
    """One user's place in one firm: manager of a partner, user of a client company, accountant (its
    companies come from the accountants' portal), or platform staff (admin, finance).

    Staff and accountants have neither id, a manager a partner, a client user a client. One e-mail, one
    password, one two-factor authentication per USER; a membership is only where they act."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "role", "partner_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "membership_role"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="memberships")
    partner = relationship("Partner", foreign_keys=[partner_id])
    client = relationship("Client", foreign_keys=[client_id])

    @property
    def is_usable(self) -> bool:
        """A manager's membership stops working while staff keep the partner deactivated."""
        return self.partner is None or self.partner.is_active

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.FINANCE)

    def __repr__(self) -> str:
        return f"<Membership {self.id} {self.role} p={self.partner_id} c={self.client_id}>"


class InvitationKind(enum.StrEnum):
    MANAGER = "manager"  # another manager of a partner
    CLIENT_USER = "client_user"  # another user of a client company


class Invitation(TimestampMixin, db.Model):
    """An e-mailed invitation to a membership ("Registre agora"): single-use, expiring, revocable. The
    link carries a random token; only its hash is stored. Resending makes a new token (the old one dies)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(str_enum(InvitationKind, "invitation_kind"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    cpf: Mapped[str] = mapped_column(String(11), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    partner = relationship("Partner", foreign_keys=[partner_id])
    client = relationship("Client", foreign_keys=[client_id])
    invited_by = relationship(User, foreign_keys=[invited_by_id])

    @property
    def role(self) -> Role:
        return Role.MANAGER if self.kind == InvitationKind.MANAGER else Role.CLIENT

    def status(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "pending"
