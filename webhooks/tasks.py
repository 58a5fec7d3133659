"""Webhook delivery jobs: one delivery as soon as its transaction commits, and the periodic sweep
(retries when due, anything that could not be queued)."""

from core.tasks import celery
from webhooks import services


@celery.task(name="webhooks.deliver")
def deliver(delivery_id: int) -> bool:
    return services.attempt_delivery(delivery_id) is not None


@celery.task(name="webhooks.deliver_due")
def deliver_due() -> int:
    return services.deliver_due()
