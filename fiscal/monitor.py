"""The contingency monitor (seed 002): notes issued offline and not yet authorized, with their age and
deadline; one e-mail to the partner's managers at half the deadline and one when overdue, per note.
A note leaves the monitor when its authorized version arrives (its status is no longer contingency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow
from fiscal.models import CONTINGENCY_LITERAL, FiscalDocument, FiscalSettings

#: IBGE state codes (the access key's first two digits) -> UF.
UF_BY_CODE = {"11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO", "21": "MA",
              "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL", "28": "SE", "29": "BA",
              "31": "MG", "32": "ES", "33": "RJ", "35": "SP", "41": "PR", "42": "SC", "43": "RS", "50": "MS",
              "51": "MT", "52": "GO", "53": "DF"}


class ContingencyAlert(db.Model):
    """An alert sent for a contingency note: at most one per note and kind (half, overdue)."""

    __tablename__ = "fiscal_contingency_alerts"
    __table_args__ = (UniqueConstraint("document_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("fiscal_documents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def deadline_hours_by_state(config) -> dict[str, int]:
    """``FISCAL_CONTINGENCY_HOURS_BY_STATE`` = "MG:48,PE:24" (UF:hours), over ``FISCAL_CONTINGENCY_HOURS``."""
    result = {}
    for part in (config.get("FISCAL_CONTINGENCY_HOURS_BY_STATE") or "").split(","):
        uf, _sep, hours = part.strip().partition(":")
        if uf and hours.strip().isdigit():
            result[uf.strip().upper()] = int(hours)
    return result


@dataclass
class PendingNote:
    document: FiscalDocument
    deadline: datetime
    age: timedelta

    @property
    def state(self) -> str:
        now = self.document.issued_at + self.age
        if now >= self.deadline:
            return "overdue"
        if now >= self.document.issued_at + (self.deadline - self.document.issued_at) / 2:
            return "half"
        return "ok"


def pending_notes(client_ids=None, *, partner_id: int | None = None, now: datetime | None = None) -> list[PendingNote]:
    """Contingency notes not yet authorized (production), oldest first, with age and deadline."""
    from partner.models import Client

    now = now or utcnow()
    config = current_app.config
    default = int(config.get("FISCAL_CONTINGENCY_HOURS", 24))
    by_state = deadline_hours_by_state(config)
    query = (select(FiscalDocument, FiscalSettings.contingency_deadline_hours)
             .outerjoin(FiscalSettings, FiscalSettings.client_id == FiscalDocument.client_id)
             .where(FiscalDocument.status == CONTINGENCY_LITERAL, FiscalDocument.environment == 1))
    if client_ids is not None:
        query = query.where(FiscalDocument.client_id.in_(list(client_ids)))
    if partner_id is not None:
        query = query.join(Client, Client.id == FiscalDocument.client_id).where(Client.partner_id == partner_id)
    rows = db.session.execute(query.order_by(FiscalDocument.issued_at, FiscalDocument.id)).all()
    notes = []
    for document, client_hours in rows:
        hours = client_hours or by_state.get(UF_BY_CODE.get(document.key[:2], ""), default)
        notes.append(PendingNote(document, document.issued_at + timedelta(hours=hours), now - document.issued_at))
    return notes


def send_alerts(now: datetime | None = None) -> int:
    """One e-mail per partner and kind listing the notes that crossed half their deadline or passed it;
    each note alerted once per kind, whatever the runs. Returns the number of e-mails queued."""
    from accounts.services import manager_emails
    from core.mail import queue_email
    from partner.models import Client

    now = now or utcnow()
    sent = {(a.document_id, a.kind) for a in db.session.execute(select(ContingencyAlert)).scalars()}
    due: dict[tuple[int, str], list[PendingNote]] = {}
    for note in pending_notes(now=now):
        kind = note.state
        if kind == "ok" or (note.document.id, kind) in sent:
            continue
        client = db.session.get(Client, note.document.client_id)
        due.setdefault((client.partner_id, kind), []).append(note)
    emails = 0
    for (partner_id, kind), notes in sorted(due.items()):
        for note in notes:
            db.session.add(ContingencyAlert(document_id=note.document.id, kind=kind, sent_at=now))
        managers = manager_emails(partner_id)
        subject = (_("Notas em contingência vencidas: envie-as à SEFAZ") if kind == "overdue"
                   else _("Notas em contingência na metade do prazo de envio"))
        clients = {n.document.client_id: db.session.get(Client, n.document.client_id) for n in notes}
        for address in managers:
            queue_email(address, subject, "fiscal_contingency", kind="fiscal_contingency", partner_id=partner_id,
                        notes=notes, clients=clients, overdue=kind == "overdue")
            emails += 1
    db.session.flush()
    return emails
