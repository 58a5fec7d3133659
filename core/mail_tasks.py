"""Celery tasks delivering the outbox, with retries and backoff."""

from core.db import db
from core.mail import OutboxEmail, deliver, deliver_pending
from core.tasks import celery


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
