"""Fiscal background jobs: building an export, and the automatic export of the previous month."""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from core.db import db, utcnow
from core.tasks import celery
from fiscal import exports
from fiscal.models import ExportStatus, FiscalExport

log = logging.getLogger(__name__)


@celery.task(name="fiscal.build_export", bind=True, max_retries=3, default_retry_delay=60)
def build_export(self, export_id: int) -> str:
    try:
        export = exports.build_export(export_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the export; retried, then marked failed
        db.session.rollback()
        if self.request.retries >= self.max_retries:
            db.session.execute(db.update(FiscalExport).where(FiscalExport.id == export_id).values(
                status=ExportStatus.FAILED, error=type(exc).__name__[:500], finished_at=utcnow()))
            db.session.commit()
            log.exception("export %s failed", export_id)
            return "failed"
        raise self.retry(exc=exc)
    if export is not None and export.status == ExportStatus.READY:
        exports.notify_ready(export)
    return "ready"


@celery.task(name="fiscal.monthly_exports")
def monthly_exports(today: str | None = None) -> int:
    """Create the automatic export of the previous month for each client due today, once per client-month."""
    from flask_babel import to_user_timezone

    now_local = datetime.fromisoformat(today) if today else to_user_timezone(utcnow())
    created = 0
    for client, month in exports.exports_due(now_local, current_app.config["FISCAL_EXPORT_DAY"]):
        try:
            with db.session.begin_nested():
                # "Download das Notas" goes to the accountants who accepted the company and to the
                # partner's managers (exports.notify_ready): never to an e-mail merely typed as accountant's
                export = exports.request_export(client, month=month, participant="all", automatic=True)
        except IntegrityError:
            continue  # another run created it first: once per client and month
        exports.enqueue(export)
        created += 1
    return created


@celery.task(name="fiscal.contingency_monitor")
def contingency_monitor() -> int:
    """E-mail managers about contingency notes at half their deadline and when overdue."""
    from fiscal.monitor import send_alerts

    return send_alerts()


@celery.task(name="fiscal.run_import")
def run_import(import_id: int) -> str:
    """A manager's upload in the panel, ingested file by file with progress (fiscal.panel.run_import)."""
    from fiscal import panel
    from fiscal.models import FiscalImport, ImportStatus

    try:
        job = panel.run_import(import_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, so the page stops waiting and says so
        db.session.rollback()
        db.session.execute(db.update(FiscalImport).where(FiscalImport.id == import_id).values(
            status=ImportStatus.FAILED, error=type(exc).__name__[:500], finished_at=utcnow()))
        db.session.commit()
        log.exception("import %s failed", import_id)
        return "failed"
    return job.status.value if job is not None else "missing"


@celery.task(name="fiscal.remove_orphan_packs")
def remove_orphan_packs() -> int:
    """Daily: delete the XML packs of ingest batches that were rolled back (fiscal.services.remove_orphan_packs)."""
    from fiscal import services

    removed = services.remove_orphan_packs()
    if removed:
        log.info("removed %d orphan blob packs", len(removed))
    return len(removed)
