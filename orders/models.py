"""Orders: the service catalogue (services, renewal terms, starter kits, add-ons) and the partners'
orders of those services for their clients, with their history, renewals, storage purchases,
responsible people and attachments.

The order state machine lives here, beside its model (``TRANSITIONS``)."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow

GB = 1024**3


class ServiceKind(enum.StrEnum):
    XML_STORAGE = "xml_storage"  # storage of the client's fiscal XML, in GB
    EXTRA_USERS = "extra_users"
    OTHER = "other"


KIND_LABELS = {
    ServiceKind.XML_STORAGE: _l("Armazenamento de XML (GB)"),
    ServiceKind.EXTRA_USERS: _l("Usuários adicionais"),
    ServiceKind.OTHER: _l("Outro"),
}


class OrderStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_DOCUMENTATION = "awaiting_documentation"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


S = OrderStatus

#: The order state machine: the only moves services may make. "Cancelar pedido" exists only before
#: activation; an expiring or expired (for 60 days) order returns to active when renewed.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.AWAITING_DOCUMENTATION, S.CANCELLED}),
    S.AWAITING_DOCUMENTATION: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.EXPIRING, S.EXPIRED}),
    S.EXPIRING: frozenset({S.ACTIVE, S.EXPIRED}),
    S.EXPIRED: frozenset({S.ACTIVE}),
    S.CANCELLED: frozenset(),
}

CANCELLABLE = frozenset({S.AWAITING_PAYMENT, S.AWAITING_DOCUMENTATION})
#: States in which the service runs (storage counted, add-ons and renewals possible).
RUNNING = frozenset({S.ACTIVE, S.EXPIRING})

#: What each history row of an order says (``OrderEvent.kind``) when it is not a change of status.
EVENT_LABELS = {
    "created": _l("Pedido criado"),
    "payment_failed": _l("Pagamento não realizado"),
    "acceptance_requested": _l("Aceite solicitado ao cliente"),
    "acceptance_resent": _l("E-mail de aceite reenviado"),
    "storage": _l("Espaço adicional"),
    "renewal": _l("Renovação"),
    "renewal_failed": _l("Renovação automática não realizada"),
    "renewal_postponed": _l("Renovação automática adiada (pagamentos indisponíveis)"),
    "responsible": _l("Responsável adicionado"),
}

STATUS_LABELS = {
    S.AWAITING_PAYMENT: _l("Aguardando pagamento"),
    S.AWAITING_DOCUMENTATION: _l("Aguardando documentação"),
    S.ACTIVE: _l("Ativo"),
    S.EXPIRING: _l("A vencer"),
    S.EXPIRED: _l("Vencido"),
    S.CANCELLED: _l("Cancelado"),
}

STATUS_COLORS = {
    S.AWAITING_PAYMENT: "warning", S.AWAITING_DOCUMENTATION: "info", S.ACTIVE: "success",
    S.EXPIRING: "warning", S.EXPIRED: "secondary", S.CANCELLED: "dark",
}


class PaymentChoice(enum.StrEnum):
    BALANCE = "balance"  # the partner's credit balance
    CARD = "card"  # the partner's card on file
    INVOICE = "invoice"  # the partner's next monthly invoice
    MANUAL = "manual"  # renewals only: the partner renews by hand


PAYMENT_LABELS = {
    PaymentChoice.BALANCE: _l("Saldo de crédito"),
    PaymentChoice.CARD: _l("Cartão cadastrado"),
    PaymentChoice.INVOICE: _l("Próxima fatura"),
    PaymentChoice.MANUAL: _l("Manual"),
}


# -- the catalogue ----------------------------------------------------------------------------------


class Service(TimestampMixin, db.Model):
    """A service partners order for their clients; its terms are a contract document the client
    accepts (``terms_version_id``: a ``contracts`` TermsVersion of document ``service:<id>``)."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[ServiceKind] = mapped_column(str_enum(ServiceKind, "service_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    terms_text: Mapped[str] = mapped_column(Text, default="")
    terms_version_id: Mapped[int | None] = mapped_column(ForeignKey("terms_versions.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    terms = relationship("ServiceTerm", back_populates="service", order_by="ServiceTerm.months",
                         cascade="all, delete-orphan")
    kits = relationship("StarterKit", back_populates="service", order_by="StarterKit.gb", cascade="all, delete-orphan")
    addons = relationship("AddonPrice", back_populates="service", order_by="AddonPrice.code",
                          cascade="all, delete-orphan")
    terms_version = relationship("TermsVersion")

    def __str__(self) -> str:
        return self.name


class ServiceTerm(db.Model):
    """A renewal term of a service (12, 24, 36 months) and its price for the whole term."""

    __tablename__ = "service_terms"
    __table_args__ = (
        UniqueConstraint("service_id", "months"),
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    months: Mapped[int]
    price_cents: Mapped[int]

    service = relationship("Service", back_populates="terms")

    def __str__(self) -> str:
        return f"{self.months} meses"


class StarterKit(db.Model):
    """Storage included when ordering (GB) and its price per month of the term."""

    __tablename__ = "starter_kits"
    __table_args__ = (
        UniqueConstraint("service_id", "gb"),
        CheckConstraint("gb > 0", name="gb_positive"),
        CheckConstraint("monthly_price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    gb: Mapped[int]
    monthly_price_cents: Mapped[int] = mapped_column(default=0)

    service = relationship("Service", back_populates="kits")

    def __str__(self) -> str:
        return f"{self.gb} GB"


class AddonPrice(db.Model):
    """An add-on unit ("gb": one more GB, "user": one more user…) and its price per month."""

    __tablename__ = "addon_prices"
    __table_args__ = (
        UniqueConstraint("service_id", "code"),
        CheckConstraint("unit_monthly_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30))  # gb, user, archive…
    label: Mapped[str] = mapped_column(String(120))
    unit_monthly_cents: Mapped[int]

    service = relationship("Service", back_populates="addons")

    def __str__(self) -> str:
        return self.label


# -- orders -----------------------------------------------------------------------------------------


class Order(TimestampMixin, db.Model):
    """A service ordered by a partner for one of its clients. ``snapshot`` keeps what was sold and at
    what price (lines); later catalogue changes never touch it. ``quota_gb`` grows with storage
    purchases; ``term_start``/``renews_at`` are the current term (renews_at: first day after it)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("quota_gb >= 0", name="quota_not_negative"),
        Index("ix_orders_partner", "partner_id", "id"),
        Index("ix_orders_client_status", "client_id", "status"),
        Index("ix_orders_status_renews", "status", "renews_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"),
                                                default=OrderStatus.AWAITING_PAYMENT)
    term_months: Mapped[int]
    starter_kit_gb: Mapped[int] = mapped_column(default=0)
    quota_gb: Mapped[int] = mapped_column(default=0)
    amount_cents: Mapped[int] = mapped_column(default=0)  # the order as sold (term + kit + add-ons)
    paid_cents: Mapped[int] = mapped_column(default=0)  # what the partner paid for it so far
    payment: Mapped[PaymentChoice | None] = mapped_column(str_enum(PaymentChoice, "order_payment"))
    renewal: Mapped[PaymentChoice] = mapped_column(str_enum(PaymentChoice, "order_renewal"),
                                                   default=PaymentChoice.MANUAL)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    term_start: Mapped[date | None] = mapped_column(Date)
    renews_at: Mapped[date | None] = mapped_column(Date)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    partner = relationship("Partner")
    client = relationship("Client")
    service = relationship("Service")
    events = relationship("OrderEvent", order_by="OrderEvent.id.desc()", viewonly=True)
    renewals = relationship("OrderRenewal", order_by="OrderRenewal.id.desc()", viewonly=True)
    storage = relationship("StoragePurchase", order_by="StoragePurchase.id.desc()", viewonly=True)
    responsibles = relationship("Responsible", order_by="Responsible.id", viewonly=True)

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


class OrderEvent(db.Model):
    """The order's history ("Histórico do pedido"): each state change and notable action."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    actor_label: Mapped[str] = mapped_column(String(254), default="sistema")


class OrderRenewal(db.Model):
    """One renewal ("Histórico de renovações"): the term it bought, its price and how it was paid."""

    __tablename__ = "order_renewals"
    __table_args__ = (UniqueConstraint("order_id", "period_start"),
                      CheckConstraint("amount_cents >= 0", name="amount_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    months: Mapped[int]
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # last day covered
    amount_cents: Mapped[int]
    payment: Mapped[PaymentChoice] = mapped_column(str_enum(PaymentChoice, "renewal_payment"))
    automatic: Mapped[bool] = mapped_column(default=False)
    actor_label: Mapped[str] = mapped_column(String(254), default="sistema")


class StoragePurchase(db.Model):
    """GB bought ("Histórico de espaço"): the starter kit at order time, add-ons mid-term prorated."""

    __tablename__ = "storage_purchases"
    __table_args__ = (CheckConstraint("gb > 0", name="gb_positive"),
                      CheckConstraint("amount_cents >= 0", name="amount_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    gb: Mapped[int]
    amount_cents: Mapped[int]
    days_charged: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(200), default="")
    actor_label: Mapped[str] = mapped_column(String(254), default="sistema")


class Responsible(TimestampMixin, db.Model):
    """A person responsible for the order (conservação, produção), chosen among the partner's
    earlier responsibles or new."""

    __tablename__ = "order_responsibles"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    cpf: Mapped[str] = mapped_column(String(11), default="")
    role: Mapped[str] = mapped_column(String(40), default="")

    attachments = relationship("OrderAttachment", order_by="OrderAttachment.id", viewonly=True)


class OrderAttachment(TimestampMixin, db.Model):
    """A document of a responsible person (PDF, PNG or JPEG, checked by content), in the blob store."""

    __tablename__ = "order_attachments"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("order_responsibles.id", ondelete="CASCADE"),
                                                       index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    blob_sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_label: Mapped[str] = mapped_column(String(254), default="sistema")


class OrderNotice(db.Model):
    """A notice sent once per order and term: renewal reminders (renew_60/30/7) and quota warnings
    (quota_70/90/100)."""

    __tablename__ = "order_notices"
    __table_args__ = (UniqueConstraint("order_id", "term_start", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    term_start: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
