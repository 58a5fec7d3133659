"""Periodic order work (scheduled daily in core.tasks.BEAT_SCHEDULE)."""

from core.tasks import celery
from orders import schedule


@celery.task(name="orders.daily")
def daily() -> dict:
    """Expiring orders, reminders, renewals, expiries, quota warnings; the task commits once."""
    return schedule.run_daily()
