import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow
from core.text import fold


class Payer(enum.StrEnum):
    PARTNER = "partner"
    CLIENT = "client"


class ContractStatus(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


#: Why a contract is blocked or cancelled (``Client.status_reason``); the rules are in contracts.
class StatusReason(enum.StrEnum):
    NON_PAYMENT = "non_payment"
    MANUAL = "manual"
    CLIENT_REQUEST = "client_request"
    FRAUD = "fraud"
    TRIAL_ENDED = "trial_ended"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(REASON_LABELS[self])


REASON_LABELS = {
    StatusReason.NON_PAYMENT: _l("Falta de pagamento"),
    StatusReason.MANUAL: _l("Manual"),
    StatusReason.CLIENT_REQUEST: _l("Pedido do cliente"),
    StatusReason.FRAUD: _l("Fraude"),
    StatusReason.TRIAL_ENDED: _l("Fim do período de teste"),
    StatusReason.OTHER: _l("Outro"),
}


class Software(TimestampMixin, db.Model):
    __tablename__ = "software"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(default=True)

    plans = relationship("Plan", back_populates="software", order_by="Plan.price_cents")

    def __str__(self) -> str:
        return self.name


class Plan(TimestampMixin, db.Model):
    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("software_id", "name"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    price_cents: Mapped[int]
    is_active: Mapped[bool] = mapped_column(default=True)

    software = relationship("Software", back_populates="plans")

    def __str__(self) -> str:
        return f"{self.software.name} {self.name}" if self.software else self.name


class AddressMixin:
    cep: Mapped[str] = mapped_column(String(8), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[str] = mapped_column(String(20), default="")
    complement: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")


class Partner(TimestampMixin, AddressMixin, db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str] = mapped_column(String(200), default="")
    cnpj: Mapped[str] = mapped_column(String(14), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Its managers must use two-factor authentication (Meus dados → Segurança; accounts/twofactor.py).
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())

    linked_emails = relationship(
        "PartnerEmail", back_populates="partner", cascade="all, delete-orphan", order_by="PartnerEmail.email"
    )

    def __str__(self) -> str:
        return self.trade_name or self.legal_name


class PartnerEmail(TimestampMixin, db.Model):
    """An e-mail that, typed by a client as its accountant's or manager's, links it to the partner."""

    __tablename__ = "partner_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)

    partner = relationship("Partner", back_populates="linked_emails")


class Client(TimestampMixin, AddressMixin, db.Model):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("partner_id", "cnpj"),
        Index("ix_clients_partner_sort_name", "partner_id", "sort_name", "id"),
        # The dashboard's "contains" search. On PostgreSQL a pg_trgm GIN index serves LIKE '%…%'
        # (migration 0006 creates the extension); SQLite ignores the options and keeps a plain index.
        Index("ix_clients_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        Index("ix_clients_partner_created", "partner_id", "created_at", "id"),
        Index("ix_clients_partner_status", "partner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    legal_name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str] = mapped_column(String(200), default="")
    cnpj: Mapped[str] = mapped_column(String(14))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    payer: Mapped[Payer] = mapped_column(str_enum(Payer, "payer"), default=Payer.CLIENT)
    status: Mapped[ContractStatus] = mapped_column(
        str_enum(ContractStatus, "contract_status"), default=ContractStatus.TRIAL
    )
    accountant_email: Mapped[str | None] = mapped_column(String(254), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Contract lifecycle (migration 0002, rules in contracts/services.py). ``status_reason`` is the
    # reason of the current block/cancellation (a StatusReason value), so dunning
    # can lift exactly the blocks made for non-payment.
    status_reason: Mapped[str | None] = mapped_column(String(32))
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    trial_auto_activate: Mapped[bool] = mapped_column(default=False, server_default=false())
    trial_warning_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Kept by the model on every insert and update (``_fill_search_columns``); bulk inserts that bypass
    # the ORM call ``search_columns`` themselves. See core/text.py.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    sort_name: Mapped[str] = mapped_column(String(200), default="", server_default="")

    partner = relationship("Partner")
    software = relationship("Software")
    plan = relationship("Plan")

    def __str__(self) -> str:
        return self.trade_name or self.legal_name

    @staticmethod
    def search_columns(legal_name: str, trade_name: str | None, cnpj: str | None, email: str | None) -> dict:
        """The folded ``search_text`` (names, CNPJ characters, e-mail; one per line so a search does
        not run across two fields) and ``sort_name`` for these values."""
        fields = (legal_name, trade_name, (cnpj or "").lower(), email)
        return {"search_text": "\n".join(fold(f) for f in fields), "sort_name": fold(legal_name)[:200]}


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _fill_search_columns(_mapper, _connection, client: Client) -> None:
    for key, value in Client.search_columns(client.legal_name, client.trade_name, client.cnpj, client.email).items():
        if getattr(client, key) != value:
            setattr(client, key, value)


class ApiToken(TimestampMixin, db.Model):
    """An API token: shown once, kept only as a SHA-256 hash. Owned by a partner (the partner API,
    ``rvp_…``) or by an accountant (the accountant API, ``rvc_…``), never both."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("(partner_id IS NULL) <> (user_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner = relationship("Partner")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LinkStatus(enum.StrEnum):
    PENDING = "pending"  # invited, not yet accepted: the accountant sees nothing of the company
    ACCEPTED = "accepted"
    DECLINED = "declined"  # the accountant said no, or dropped the company
    REMOVED = "removed"  # the client or its manager revoked it

    @property
    def label(self) -> str:
        return str(LINK_STATUS_LABELS[self])


LINK_STATUS_LABELS = {
    LinkStatus.PENDING: _l("pendente"),
    LinkStatus.ACCEPTED: _l("aceito"),
    LinkStatus.DECLINED: _l("recusado"),
    LinkStatus.REMOVED: _l("removido"),
}


class AccountantLink(TimestampMixin, db.Model):
    """An accountant's access to one client company, granted only by accepting the e-mailed invitation.

    One row per (client, e-mail): inviting again reuses it. The invitation link's token is stored as a
    SHA-256 hash and cleared when used (single use)."""

    __tablename__ = "accountant_links"
    __table_args__ = (
        UniqueConstraint("client_id", "email"),
        Index("ix_accountant_links_user_status", "user_id", "status", "client_id"),
        CheckConstraint("export_day IS NULL OR (export_day BETWEEN 1 AND 28)", name="export_day_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[LinkStatus] = mapped_column(str_enum(LinkStatus, "accountant_link_status"),
                                               default=LinkStatus.PENDING)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # declined or removed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    group_name: Mapped[str] = mapped_column(String(100), default="", server_default="")  # the accountant's
    export_day: Mapped[int | None] = mapped_column(Integer)  # the accountant's automatic-export day (None: 5)

    client = relationship("Client")
    user = relationship("User", foreign_keys=[user_id])
