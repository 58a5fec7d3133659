"""Audit log: every state change records who, when, what, before and after."""

import enum
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="sistema")
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User")
    # Names for the staff audit list (joined, one query per page); core knows the tables, not the models.
    partner = relationship("Partner", viewonly=True)
    client = relationship("Client", viewonly=True)


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj, fields) -> dict:
    """The named attributes of ``obj`` as JSON-friendly values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def current_actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _request_label() -> str:
    """Who acts when no user is logged in: the API token's label set by the API, else the system."""
    if has_request_context():
        return g.get("api_actor_label") or "sistema"
    return "sistema"


def record(
    action: str,
    obj=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    actor=None,
    partner_id: int | None = None,
    client_id: int | None = None,
    label: str | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (flushed with it, never committed here)."""
    actor = actor or current_actor()
    event = AuditEvent(
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "system",
        object_id=getattr(obj, "id", None),
        actor_id=getattr(actor, "id", None),
        actor_label=label or (actor.email if actor is not None else _request_label()),
        partner_id=partner_id if partner_id is not None else getattr(obj, "partner_id", None),
        client_id=client_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for compact before/after pairs."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
