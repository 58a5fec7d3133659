"""Outgoing webhooks: endpoints (a partner's or an accountant's), deliveries and their attempts."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # every attempt failed (or the endpoint was disabled/deleted meanwhile)


class WebhookEndpoint(TimestampMixin, db.Model):
    """Where events are POSTed. Owned by a partner (``partner_id``) or by an accountant (``user_id``),
    the latter for one accepted company (``client_id``) or all of them (``client_id`` empty)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("(partner_id IS NULL) <> (user_id IS NULL)", name="one_owner"),
        CheckConstraint("client_id IS NULL OR user_id IS NOT NULL", name="company_only_for_accountant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    #: The signing secret, encrypted with the master keys (needed in clear to sign each delivery).
    secret_blob: Mapped[bytes] = mapped_column(LargeBinary)
    events: Mapped[list] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client = relationship("Client", foreign_keys=[client_id])


class WebhookDelivery(db.Model):
    """One event for one endpoint. ``public_id`` is the ``Revenda-Delivery`` header: the same on every
    attempt and on a resend, so the receiver can drop repeats. ``body`` is the exact JSON posted."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "webhook_delivery_status"),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint = relationship(WebhookEndpoint)
    attempt_log = relationship("WebhookAttempt", order_by="WebhookAttempt.id", passive_deletes=True,
                               cascade="all, delete-orphan")


class WebhookAttempt(db.Model):
    """One POST: when, the answer's status (or the error), a truncated snippet of its body, how long."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(String(200), default="")
    response_snippet: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
