"""Celery tasks of billing: the monthly run (day 1) and the daily dunning pass."""

from billing.dunning import run_dunning
from billing.run import run_monthly_billing
from core.tasks import celery


@celery.task(name="billing.run_monthly")
def run_monthly(month: str | None = None) -> dict:
    """Invoice ``month`` ("YYYY-MM"; default: the previous month). Commits per batch."""
    return run_monthly_billing(month).as_dict()


@celery.task(name="billing.dunning")
def dunning() -> dict:
    """Reminders, card charges and non-payment blocks; the task commits once at the end."""
    result = run_dunning()
    return {"notices": result.notices, "blocked_invoices": result.blocked_invoices,
            "blocked_clients": result.blocked_clients, "card_charges": result.card_charges}
