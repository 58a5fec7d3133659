"""Celery wiring: every task runs in an app context and commits or rolls back once."""

from celery import Celery, Task
from celery.schedules import crontab

#: The Flask app tasks run in; set by init_celery (the last app created wins).
_flask_app = None


class AppTask(Task):
    """Runs each task in an app context and commits once (rolls back on error).

    Tasks write, so on SQLite their transactions take the write lock up front (core/db.py): a task
    that read first could not write once a web request committed in between ("database is locked").

    A module-level base class (not one made inside init_celery): a task evaluated before
    init_celery ran - e.g. imported by a test module at collection - still gets it."""

    abstract = True

    def __call__(self, *args, **kwargs):
        from core.db import db, write_lock

        with _flask_app.app_context(), write_lock():
            try:
                result = self.run(*args, **kwargs)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()


celery = Celery("revenda", task_cls=AppTask)

#: Beat schedule; domains add their periodic tasks here by name.
BEAT_SCHEDULE = {
    "deliver-outbox": {"task": "core.deliver_outbox", "schedule": 30.0},
    "end-trials": {"task": "contracts.end_trials", "schedule": crontab(minute=15)},
    "certificate-expiry-alerts": {
        "task": "certificates.send_expiry_alerts",
        "schedule": crontab(hour=8, minute=0),
    },
    "monthly-billing": {"task": "billing.run_monthly", "schedule": crontab(day_of_month=1, hour=3, minute=0)},
    "dunning": {"task": "billing.dunning", "schedule": crontab(hour=9, minute=0)},
    "fiscal-monthly-exports": {"task": "fiscal.monthly_exports", "schedule": crontab(hour=6, minute=0)},
    "fiscal-contingency-monitor": {"task": "fiscal.contingency_monitor", "schedule": 600.0},
    "fiscal-orphan-packs": {"task": "fiscal.remove_orphan_packs", "schedule": crontab(hour=4, minute=30)},
    "webhooks-deliver-due": {"task": "webhooks.deliver_due", "schedule": 30.0},
    "orders-daily": {"task": "orders.daily", "schedule": crontab(hour=7, minute=30)},
}


def init_celery(app) -> Celery:
    global _flask_app
    _flask_app = app
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        result_backend=None,
        task_ignore_result=True,
        task_always_eager=app.config.get("CELERY_ALWAYS_EAGER", False),
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="America/Sao_Paulo",
        enable_utc=True,
        beat_schedule={
            name: entry for name, entry in BEAT_SCHEDULE.items() if entry["task"] in celery.tasks
        }
        or {},
    )
    app.extensions["celery"] = celery
    return celery
