"""Celery tasks delivering the outbox, with retries and backoff, queued when the transaction that
wrote the messages commits (``core.mail.queue_email`` lists them in the session)."""

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import db
from core.mail import OutboxEmail, deliver, deliver_pending
from core.tasks import celery

log = logging.getLogger("core.mail")


class DeliveryFailed(Exception):
    pass


@celery.task(
    name="core.deliver_email",
    autoretry_for=(DeliveryFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=5,
)
def deliver_email(message_id: int) -> bool:
    row = db.session.get(OutboxEmail, message_id, with_for_update=True)
    if row is None:
        return False
    ok = deliver(row)
    if not ok and row.status == "pending":
        db.session.commit()  # keep the attempt count and error before retrying
        raise DeliveryFailed(row.last_error)
    return ok


@celery.task(name="core.deliver_outbox")
def deliver_outbox() -> int:
    return deliver_pending()


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    ids = session.info.pop("outbox_new", None)
    if not ids:
        return
    try:
        for message_id in ids:
            deliver_email.delay(message_id)
    except Exception:  # noqa: BLE001 - the periodic sweep delivers what could not be queued
        log.warning("could not enqueue outbox delivery; the sweep will pick it up")
