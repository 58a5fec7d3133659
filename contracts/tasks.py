"""Scheduled contract work: trials that end and plan changes chosen for the next cycle."""

from celery.schedules import crontab

from contracts import services
from core.tasks import BEAT_SCHEDULE, celery

# The plan-change task is this domain's own addition to the beat schedule (core lists end_trials).
BEAT_SCHEDULE.setdefault(
    "apply-plan-changes", {"task": "contracts.apply_plan_changes", "schedule": crontab(minute=5)}
)


@celery.task(name="contracts.end_trials")
def end_trials():
    """Warn managers of trials ending in 3 days, then end the trials that are due."""
    return services.end_due_trials()


@celery.task(name="contracts.apply_plan_changes")
def apply_plan_changes():
    """Apply the plan changes scheduled for a cycle that has started (hourly, so a missed run catches up)."""
    return services.apply_due_plan_changes()
