"""Storage quota: a client's fiscal-XML usage measured from the fiscal document store
(``fiscal_documents.size_bytes``, the stored XML's size), warnings at 70% (with a forecast of the GB
needed until the renewal date from the last 90 days' growth), 90% and 100%, once per threshold per
term, to the partner's manager and the client.

Nothing here refuses or deletes a document: at 100% the notes keep arriving; the partner is offered an
add-on and the overage is shown."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, cast, func, select
from sqlalchemy.exc import IntegrityError

from billing.run import local_today
from contracts.services.acceptance import partner_sender
from core.db import db, utcnow
from core.mail import queue_email
from fiscal.models import FiscalDocument
from orders.models import GB, RUNNING, Order, OrderNotice, Service, ServiceKind
from partner.models import Client

THRESHOLDS = (100, 90, 70)
GROWTH_WINDOW_DAYS = 90


def usage_bytes(client_ids) -> dict[int, int]:
    """Bytes of fiscal XML stored per client (one grouped query)."""
    ids = list(client_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(FiscalDocument.client_id, func.sum(FiscalDocument.size_bytes))
        .where(FiscalDocument.client_id.in_(ids)).group_by(FiscalDocument.client_id)
    ).all()
    return {client_id: int(total or 0) for client_id, total in rows}


def growth_bytes(client_ids, since) -> dict[int, int]:
    """Bytes received per client since ``since`` (one grouped query)."""
    ids = list(client_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(FiscalDocument.client_id, func.sum(FiscalDocument.size_bytes))
        .where(FiscalDocument.client_id.in_(ids), FiscalDocument.received_at >= since)
        .group_by(FiscalDocument.client_id)
    ).all()
    return {client_id: int(total or 0) for client_id, total in rows}


def forecast_gb(used: int, growth_90d: int, days_to_renewal: int) -> int:
    """GB needed on the renewal date if the last 90 days' pace goes on (rounded up)."""
    projected = used + growth_90d * max(days_to_renewal, 0) / GROWTH_WINDOW_DAYS
    return max(1, math.ceil(projected / GB))


def percent(used: int, quota_gb: int) -> int:
    if quota_gb <= 0:
        return 100 if used else 0
    return used * 100 // (quota_gb * GB)


@dataclass(frozen=True)
class Usage:
    used_bytes: int
    quota_gb: int

    @property
    def percent(self) -> int:
        return percent(self.used_bytes, self.quota_gb)

    @property
    def overage_bytes(self) -> int:
        return max(self.used_bytes - self.quota_gb * GB, 0)

    @property
    def used_gb(self) -> float:
        return self.used_bytes / GB


def usage_of(order: Order) -> Usage:
    return Usage(usage_bytes([order.client_id]).get(order.client_id, 0), order.quota_gb)


# -- warnings ---------------------------------------------------------------------------------------


def _notice_once(order: Order, kind: str) -> bool:
    """Record ``kind`` for the order's current term; False if it was already recorded."""
    exists = db.session.scalar(select(OrderNotice.id).where(
        OrderNotice.order_id == order.id, OrderNotice.term_start == order.term_start, OrderNotice.kind == kind))
    if exists:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(OrderNotice(order_id=order.id, term_start=order.term_start, kind=kind, sent_at=utcnow()))
    except IntegrityError:
        return False
    return True


def check_order(order: Order, used: int, growth_90d: int, today: date) -> int | None:
    """Send the warning of the highest threshold reached, once per term; lower thresholds passed
    at the same time are marked done silently. Returns the threshold warned about, if any."""
    pct = percent(used, order.quota_gb)
    reached = [t for t in THRESHOLDS if pct >= t]
    if not reached:
        return None
    top = reached[0]
    if not _notice_once(order, f"quota_{top}"):
        return None
    for lower in reached[1:]:
        _notice_once(order, f"quota_{lower}")
    days = (order.renews_at - today).days if order.renews_at else 0
    context = {
        "order": order, "client": order.client, "threshold": top, "percent": pct,
        "used_gb": used / GB, "quota_gb": order.quota_gb, "renews_at": order.renews_at,
        "forecast_gb": forecast_gb(used, growth_90d, days) if top == 70 else None,
        "overage_gb": max(used - order.quota_gb * GB, 0) / GB,
    }
    subject = _("Espaço de XML em %(p)s%% — %(c)s", p=top, c=order.client.legal_name)
    recipients = {order.partner.email, order.client.email} - {None, ""}
    for to in sorted(recipients):
        queue_email(to, subject, "order_quota", kind="order_quota", partner_id=order.partner_id,
                    **partner_sender(order.partner), **context)
    from core import audit

    audit.record("order.quota_warning", order, client_id=order.client_id, label="sistema",
                 after={"threshold": top, "percent": pct})
    return top


def check_quotas(today: date | None = None, batch_size: int = 500) -> int:
    """Check every running XML-storage order (a few grouped queries per batch)."""
    today = today or local_today()
    since = utcnow() - timedelta(days=GROWTH_WINDOW_DAYS)
    warned = 0
    last_id = 0
    while True:
        orders = list(db.session.scalars(
            select(Order).join(Service, Service.id == Order.service_id)
            .where(Order.status.in_(RUNNING), Service.kind == ServiceKind.XML_STORAGE, Order.id > last_id)
            .order_by(Order.id).limit(batch_size)
        ))
        if not orders:
            return warned
        last_id = orders[-1].id
        client_ids = {o.client_id for o in orders}
        used, growth = usage_bytes(client_ids), growth_bytes(client_ids, since)
        for order in orders:
            if check_order(order, used.get(order.client_id, 0), growth.get(order.client_id, 0), today):
                warned += 1


# -- the dashboard's usage column -------------------------------------------------------------------


def usage_expression():
    """``"<used bytes>|<quota GB>"`` per dashboard row: correlated scalar subqueries in the page's one
    query, so the column costs no query of its own whatever the number of clients."""
    used = (select(func.coalesce(func.sum(FiscalDocument.size_bytes), 0))
            .where(FiscalDocument.client_id == Client.id).correlate(Client).scalar_subquery())
    quota = (select(func.coalesce(func.sum(Order.quota_gb), 0))
             .where(Order.client_id == Client.id, Order.status.in_(RUNNING)).correlate(Client).scalar_subquery())
    return cast(used, String) + "|" + cast(quota, String)


def parse_usage_cell(value) -> Usage | None:
    if not value or "|" not in str(value):
        return None
    used, quota = str(value).split("|", 1)
    try:
        return Usage(int(float(used)), int(float(quota)))
    except ValueError:
        return None
