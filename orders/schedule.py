"""The daily order pass: active orders become "A vencer" 60 days before renewal (reminders at 60, 30
and 7 days, once each per term), automatic renewals on the renewal date (balance, card or next
invoice), manual ones expire (read-only, renewable for 60 days), and the storage quota warnings."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from billing.run import local_today
from contracts.services.acceptance import partner_sender
from core.db import db, utcnow
from core.mail import queue_email
from orders import quota, services
from orders.models import RUNNING, Order, OrderStatus, PaymentChoice

log = logging.getLogger(__name__)
S = OrderStatus
#: Days an automatic renewal is retried while payments are unavailable (not refused) before the order expires.
RENEWAL_RETRY_DAYS = 3


def _remind(order: Order, today: date) -> bool:
    """The most urgent reminder due and not yet sent this term (the larger ones silently marked)."""
    left = (order.renews_at - today).days
    due = [d for d in services.REMINDER_DAYS if left <= d]
    if not due:
        return False
    smallest = due[-1]
    if not quota._notice_once(order, f"renew_{smallest}"):
        return False
    for larger in due[:-1]:
        quota._notice_once(order, f"renew_{larger}")
    subject = _("Pedido #%(id)s vence em %(d)s dias — %(c)s", id=order.id, d=max(left, 0), c=order.client.legal_name)
    queue_email(order.partner.email, subject, "order_renewal_reminder", kind="order_reminder",
                partner_id=order.partner_id, order=order, days=max(left, 0), **partner_sender(order.partner))
    return True


def _renewal_failed(order: Order, reason: str) -> None:
    """Tell the partner the automatic renewal was refused (why, and how to renew by hand)."""
    subject = _("Renovação automática não realizada — pedido #%(id)s, %(c)s", id=order.id,
                c=order.client.legal_name)
    queue_email(order.partner.email, subject, "order_renewal_failed", kind="order_renewal_failed",
                partner_id=order.partner_id, order=order, reason=reason,
                days=services.RENEWABLE_DAYS_AFTER_EXPIRY)


def run_daily(today: date | None = None) -> dict:
    today = today or local_today()
    counts = {"expiring": 0, "reminders": 0, "renewed": 0, "postponed": 0, "expired": 0, "quota_warnings": 0}
    horizon = today + timedelta(days=max(services.REMINDER_DAYS))
    for order in db_orders(Order.status == S.ACTIVE, Order.renews_at <= horizon):
        services.transition(order, S.EXPIRING)
        counts["expiring"] += 1
    for order in db_orders(Order.status == S.EXPIRING, Order.renews_at > today):
        counts["reminders"] += _remind(order, today)
    for order in db_orders(Order.status.in_(RUNNING), Order.renews_at <= today):
        if order.renewal != PaymentChoice.MANUAL:
            try:
                with db.session.begin_nested():
                    services.renew(order, order.renewal, automatic=True, today=today)
                counts["renewed"] += 1
                # kept at once: a card charged here must never be charged again because something later in
                # the pass failed and rolled the renewal back (another day's retry is a new idempotency key)
                db.session.commit()
                continue
            except services.OrderPaymentUnavailable as exc:
                # the processor could not be reached: nothing was refused, so the order keeps running and
                # tomorrow's pass tries again, for a few days, before it expires like a refused payment
                db.session.refresh(order)
                if (today - order.renews_at).days < RENEWAL_RETRY_DAYS:
                    services._event(order, "renewal_postponed", note=exc.message)
                    counts["postponed"] += 1
                    db.session.commit()
                    continue
                services._event(order, "renewal_failed", note=exc.message)
                _renewal_failed(order, exc.message)
            except services.OrderError as exc:
                # nothing of the renewal stays (the savepoint); the order expires, renewable by hand
                db.session.refresh(order)  # the rolled-back move was a Core UPDATE: reread the row
                services._event(order, "renewal_failed", note=exc.message)
                _renewal_failed(order, exc.message)
        services.transition(order, S.EXPIRED, note=_("Prazo encerrado"))
        order.expired_at = utcnow()
        counts["expired"] += 1
        db.session.commit()
    counts["quota_warnings"] = quota.check_quotas(today)
    return counts


def db_orders(*conditions) -> list[Order]:
    return list(db.session.scalars(select(Order).where(*conditions).order_by(Order.id)))
