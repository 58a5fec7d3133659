"""Fiscal services: ingesting XML (one file or a zip), deriving status from notes and events,
totals of a period, and the contingency monitor's queries. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.blobstore import blob_store
from core.db import db, utcnow
from fiscal import archives
from fiscal.models import Direction, FiscalDocument, FiscalEvent
from fiscal.parsing import Event, FiscalParseError, Note, Protocol, direction_for, parse_fiscal_xml
from fiscal.status import SUPPORTED_TOTAL_STATUSES, DocumentStatus, derive_status

BRT = timezone(timedelta(hours=-3))  # Brasília (no daylight saving since 2019): months are local months


def month_of(moment: datetime | None) -> int:
    """AAAAMM of a moment in Brasília time (0 when unknown)."""
    if moment is None:
        return 0
    local = moment.astimezone(BRT)
    return local.year * 100 + local.month


@dataclass
class FileResult:
    file: str
    result: str  # created | duplicate | updated | refused
    key: str | None = None
    model: int | None = None
    status: str | None = None
    direction: str | None = None
    error: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestSummary:
    results: list[FileResult] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)

    @property
    def all_refused(self) -> bool:
        return bool(self.results) and all(r.result == "refused" for r in self.results)


def _refused(name: str, code: str, message: str, key: str | None = None) -> FileResult:
    return FileResult(file=name, result="refused", key=key, error={"code": code, "message": message})


def ingest_upload(client, filename: str, data: bytes, *, is_zip: bool | None = None) -> IngestSummary:
    """One XML or a zip of them, for ``client``. Each file's outcome is in the summary, in order."""
    summary = IngestSummary()
    if is_zip is None:
        is_zip = data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip")
    if not is_zip:
        summary.results.append(ingest_file(client, filename, data))
        return summary
    try:
        for member in archives.iter_zip(data):
            if member.data is None:
                summary.results.append(_refused(member.name, member.error_code, _(member.error)))
            else:
                summary.results.append(ingest_file(client, member.name, member.data))
    except archives.ArchiveError as exc:
        summary.results.append(_refused(filename, exc.code, _(exc.message)))
    return summary


def ingest_file(client, name: str, data: bytes) -> FileResult:
    """Store one file's notes, protocols and events for ``client`` and re-derive the statuses it touches."""
    try:
        parsed = parse_fiscal_xml(data)
    except FiscalParseError as exc:
        return _refused(name, exc.code, _(exc.message))
    client_doc = (client.cnpj or "").upper()
    for note in parsed.notes:
        if direction_for(note, client_doc) is None:
            return _refused(name, "not_client", _("Este documento não pertence a este cliente."), note.key)
    for protocol in parsed.protocols:
        if protocol.key[6:20] != client_doc and _find(client.id, protocol.environment, protocol.key) is None:
            return _refused(name, "not_client", _("Este documento não pertence a este cliente."), protocol.key)
    digest = blob_store().put(data)
    outcome = None
    for note in parsed.notes:
        outcome = outcome or _store_note(client, note, digest, len(data), name)
    for protocol in parsed.protocols:
        outcome = outcome or _store_protocol(client, protocol, digest, len(data), name)
    touched = set()
    event_result = None
    for event in parsed.events:
        created = _store_event(client, event, digest)
        touched.add((event.environment, event.key))
        event_result = event_result or FileResult(file=name, result="created" if created else "duplicate",
                                                  key=event.key, model=event.model)
    for environment, key in touched:
        document = _find(client.id, environment, key)
        if document is not None:
            _rederive(document)
            if event_result is not None and event_result.key == key:
                event_result.status = document.status.value
                event_result.direction = document.direction.value
    db.session.flush()
    return outcome or event_result


def find_document(client_id: int, environment: int, key: str) -> FiscalDocument | None:
    """A client's document by key, in one environment (callers load the client through its scope first)."""
    return _find(client_id, environment, key)


def _find(client_id: int, environment: int, key: str) -> FiscalDocument | None:
    return db.session.execute(
        select(FiscalDocument).where(FiscalDocument.client_id == client_id,
                                     FiscalDocument.environment == environment, FiscalDocument.key == key)
    ).scalar_one_or_none()


def _events_of(client_id: int, environment: int, key: str) -> list[tuple[str, int | None]]:
    rows = db.session.execute(
        select(FiscalEvent.event_type, FiscalEvent.cstat).where(
            FiscalEvent.client_id == client_id, FiscalEvent.environment == environment, FiscalEvent.key == key))
    return [(event_type, cstat) for event_type, cstat in rows]


def _rederive(document: FiscalDocument, events: list | None = None) -> None:
    if events is None:
        events = _events_of(document.client_id, document.environment, document.key)
    document.status = derive_status(document.model, document.tp_emis, document.protocol_cstat, events)


def _result(name: str, result: str, document: FiscalDocument) -> FileResult:
    return FileResult(file=name, result=result, key=document.key, model=document.model,
                      status=document.status.value, direction=document.direction.value)


def _apply_protocol(document: FiscalDocument, protocol: Protocol | None) -> None:
    document.protocol_cstat = protocol.cstat if protocol else None
    document.protocol_number = protocol.number if protocol else ""
    document.authorized_at = protocol.received_at if protocol else None


def _store_note(client, note: Note, digest: str, size: int, name: str) -> FileResult:
    direction, role = direction_for(note, client.cnpj.upper())
    events = _events_of(client.id, note.environment, note.key)  # queried before a new row is pending
    document = _find(client.id, note.environment, note.key)
    if document is not None:
        if document.blob_sha256 == digest:
            return _result(name, "duplicate", document)
        # a version with the protocol replaces a pending one (or the bare SEFAZ answer); never the reverse
        better = note.protocol is not None and (document.protocol_cstat is None or not document.has_body)
        if not better:
            return _result(name, "duplicate", document)
    else:
        document = FiscalDocument(client_id=client.id, key=note.key, environment=note.environment)
        db.session.add(document)
    document.model, document.series, document.number = note.model, note.series, note.number
    document.issued_at, document.issued_month = note.issued_at, month_of(note.issued_at)
    document.direction, document.role, document.tp_emis = Direction(direction), role, note.tp_emis
    document.emitter_doc, document.emitter_name = note.emitter.doc, note.emitter.name[:200]
    recipient = note.recipient
    document.recipient_doc = recipient.doc if recipient else ""
    document.recipient_name = recipient.name[:200] if recipient else ""
    document.total_cents, document.has_body = note.total_cents, True
    document.signature_status = note.signature_status
    document.blob_sha256, document.size_bytes = digest, size
    created = document.id is None
    _apply_protocol(document, note.protocol)
    _rederive(document, events)
    db.session.flush()
    return _result(name, "created" if created else "updated", document)


def _store_protocol(client, protocol: Protocol, digest: str, size: int, name: str) -> FileResult:
    """A SEFAZ answer carrying the final protocol of a note (e.g. denied) without the note itself."""
    document = _find(client.id, protocol.environment, protocol.key)
    if document is not None:
        if document.protocol_cstat == protocol.cstat:
            return _result(name, "duplicate", document)
        _apply_protocol(document, protocol)
        if not document.has_body:
            document.blob_sha256, document.size_bytes = digest, size
        _rederive(document)
        return _result(name, "updated", document)
    key = protocol.key
    events = _events_of(client.id, protocol.environment, key)
    issued = protocol.received_at or utcnow()
    document = FiscalDocument(
        client_id=client.id, key=key, environment=protocol.environment, model=int(key[20:22]),
        series=int(key[22:25]), number=int(key[25:34]), issued_at=issued, issued_month=month_of(issued),
        direction=Direction.ISSUED, role="emitente", tp_emis=int(key[34]), emitter_doc=key[6:20],
        total_cents=0, has_body=False, signature_status="unsigned", blob_sha256=digest, size_bytes=size,
    )
    _apply_protocol(document, protocol)
    _rederive(document, events)
    db.session.add(document)
    db.session.flush()
    return _result(name, "created", document)


def _store_event(client, event: Event, digest: str) -> bool:
    exists = db.session.execute(
        select(FiscalEvent.id).where(
            FiscalEvent.client_id == client.id, FiscalEvent.environment == event.environment,
            FiscalEvent.key == event.key, FiscalEvent.event_type == event.type,
            FiscalEvent.sequence == event.sequence)
    ).scalar_one_or_none()
    if exists is not None:
        return False
    db.session.add(FiscalEvent(
        client_id=client.id, key=event.key, event_type=event.type, sequence=event.sequence, cstat=event.cstat,
        environment=event.environment, registered_at=event.registered_at,
        registered_month=month_of(event.registered_at), protocol_number=event.protocol_number,
        blob_sha256=digest,
    ))
    db.session.flush()
    return True


# -- queries -----------------------------------------------------------------------------------------


def period_totals(client_id: int, month: int, *, environment: int = 1, model: int | None = None,
                  direction: Direction | None = None) -> dict[str, dict[str, int]]:
    """Count and R$ per status for a client-month (one grouped query on the month index)."""
    query = (
        select(FiscalDocument.status, func.count(), func.coalesce(func.sum(FiscalDocument.total_cents), 0))
        .where(FiscalDocument.client_id == client_id, FiscalDocument.environment == environment,
               FiscalDocument.issued_month == month)
        .group_by(FiscalDocument.status)
    )
    if direction is not None:
        query = query.where(FiscalDocument.direction == direction)
    if model is not None:
        query = query.where(FiscalDocument.model == model)
    totals = {status.value: {"count": 0, "total_cents": 0} for status in SUPPORTED_TOTAL_STATUSES}
    for status, count, total in db.session.execute(query):
        if status in SUPPORTED_TOTAL_STATUSES:
            totals[DocumentStatus(status).value] = {"count": int(count), "total_cents": int(total)}
    return totals


def pending_contingency(client_ids: Iterable[int] | None = None, *, environment: int = 1):
    """Contingency notes not yet authorized, oldest first (the monitor and the client software's list)."""
    query = select(FiscalDocument).where(FiscalDocument.status == DocumentStatus.CONTINGENCY,
                                         FiscalDocument.environment == environment)
    if client_ids is not None:
        query = query.where(FiscalDocument.client_id.in_(list(client_ids)))
    return db.session.execute(query.order_by(FiscalDocument.issued_at, FiscalDocument.id)).scalars().all()


def document_xml(document: FiscalDocument) -> bytes:
    return blob_store().get(document.blob_sha256)
