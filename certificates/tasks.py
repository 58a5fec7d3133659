"""Periodic certificate work (scheduled daily in core.tasks.BEAT_SCHEDULE)."""

from certificates import services
from core.tasks import celery


@celery.task(name="certificates.send_expiry_alerts")
def send_expiry_alerts() -> int:
    """E-mail expiry alerts due today; the task commits once (core.tasks.AppTask)."""
    return services.send_expiry_alerts()
