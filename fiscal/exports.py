"""Monthly exports accountants import: a zip in the layout accounting software scans
(``<CNPJ>_<AAAAMM>/NFe|NFCe|CTe/Autorizadas|Canceladas|Denegadas|Contingencia/<chave>-procNFe.xml``, the
cancellation event beside its note in ``Canceladas/``, other events in ``Eventos/``), a PDF report with
the totals and a CSV index; DANFEs on request. Built by a background job into a temporary file (memory
flat as the export grows), kept in the blob store behind a signed link that expires."""

from __future__ import annotations

import csv
import operator
import pickle
import tempfile
import time
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from core.blobstore import BlobNotFound, blob_store
from core.csvsafe import safe_cell
from core.db import db, utcnow
from fiscal.models import (
    Direction,
    ExportStatus,
    FiscalDocument,
    FiscalEvent,
    FiscalExport,
    FiscalSettings,
    Participant,
    blob_location,
)
from fiscal.signals import export_ready
from fiscal.status import CANCELLATION_EVENT_TYPES, DocumentStatus, is_cancellation

BRT = timezone(timedelta(hours=-3))

MODEL_FOLDERS = {55: "NFe", 65: "NFCe", 57: "CTe", 67: "CTeOS"}
STATUS_FOLDERS = {DocumentStatus.AUTHORIZED: "Autorizadas", DocumentStatus.CANCELLED: "Canceladas",
                  DocumentStatus.DENIED: "Denegadas", DocumentStatus.CONTINGENCY: "Contingencia"}
STATUS_LABELS = {DocumentStatus.AUTHORIZED: "Autorizada", DocumentStatus.CANCELLED: "Cancelada",
                 DocumentStatus.DENIED: "Denegada", DocumentStatus.CONTINGENCY: "Contingência"}
PROC_SUFFIX = {55: "procNFe", 65: "procNFe", 57: "procCTe", 67: "procCTeOS"}
DEFAULT_VALID_DAYS = 7
BATCH = 500


class ExportError(ValueError):
    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message, self.fields = message, fields or {}


def request_export(client, *, month: int, model: int | None = None, participant: str = "all",
                   include_pdf: bool = False, email: str = "", requested_by=None,
                   automatic: bool = False, starts_at: datetime | None = None,
                   ends_at: datetime | None = None, environment: int = 1) -> FiscalExport:
    """Create an export job (the caller enqueues ``fiscal.build_export`` after commit).

    ``starts_at``/``ends_at`` export the notes issued in that period instead of the whole ``month``
    (which names the zip's folder); ``email`` is the requester's address for "Download das Notas"."""
    if not 200001 <= month <= 299912 or not 1 <= month % 100 <= 12:
        raise ExportError(_("Mês inválido."), {"month": _("Use AAAA-MM.")})
    if model is not None and model not in MODEL_FOLDERS:
        raise ExportError(_("Modelo inválido."), {"model": _("Use 55, 65 ou 57.")})
    try:
        participant = Participant(participant)
    except ValueError:
        raise ExportError(_("Tipo de participante inválido."), {"participant": _("Use issued, received ou all.")})
    if environment not in (1, 2):
        raise ExportError(_("Ambiente inválido."), {"environment": _("Use production ou homologation.")})
    export = FiscalExport(client_id=client.id, month=month, model=model, participant=participant,
                          include_pdf=bool(include_pdf), email=email or "",
                          requested_by_id=getattr(requested_by, "id", None),
                          automatic_month=month if automatic else None, starts_at=starts_at, ends_at=ends_at,
                          environment=environment)
    if (starts_at is None) != (ends_at is None) or (starts_at is not None and ends_at <= starts_at):
        raise ExportError(_("Período inválido."), {"period": _("A data final deve ser posterior à inicial.")})
    db.session.add(export)
    db.session.flush()
    return export


#: what the export reads of each document: plain rows (no ORM identity map to grow with the export)
_COLUMNS = (FiscalDocument.id, FiscalDocument.key, FiscalDocument.model, FiscalDocument.series, FiscalDocument.number,
            FiscalDocument.issued_at, FiscalDocument.status, FiscalDocument.emitter_doc, FiscalDocument.emitter_name,
            FiscalDocument.recipient_doc, FiscalDocument.recipient_name, FiscalDocument.total_cents,
            FiscalDocument.has_body, FiscalDocument.blob_sha256, FiscalDocument.blob_pack, FiscalDocument.blob_offset,
            FiscalDocument.blob_length)


def _documents_query(export: FiscalExport):
    query = select(*_COLUMNS).where(FiscalDocument.client_id == export.client_id,
                                    FiscalDocument.environment == export.environment,
                                         FiscalDocument.status.in_(list(STATUS_FOLDERS)))
    if export.starts_at is not None:
        query = query.where(FiscalDocument.issued_at >= export.starts_at, FiscalDocument.issued_at < export.ends_at)
    else:
        query = query.where(FiscalDocument.issued_month == export.month)
    if export.model is not None:
        query = query.where(FiscalDocument.model == export.model)
    if export.participant == Participant.ISSUED:
        query = query.where(FiscalDocument.direction == Direction.ISSUED)
    elif export.participant == Participant.RECEIVED:
        query = query.where(FiscalDocument.direction == Direction.RECEIVED)
    return query.order_by(FiscalDocument.model, FiscalDocument.issued_at, FiscalDocument.id)


def _late_cancellations_query(export: FiscalExport):
    """Cancellations registered in the month for notes issued in earlier months (FISCAL.md)."""
    query = (
        select(FiscalDocument, FiscalEvent)
        .join(FiscalEvent, (FiscalEvent.client_id == FiscalDocument.client_id)
              & (FiscalEvent.environment == FiscalDocument.environment) & (FiscalEvent.key == FiscalDocument.key))
        .where(FiscalDocument.client_id == export.client_id, FiscalDocument.environment == export.environment,
               FiscalEvent.event_type.in_(list(CANCELLATION_EVENT_TYPES)))
    )
    if export.starts_at is not None:
        query = query.where(FiscalDocument.issued_at < export.starts_at, FiscalEvent.registered_at >= export.starts_at,
                            FiscalEvent.registered_at < export.ends_at)
    else:
        query = query.where(FiscalDocument.issued_month < export.month, FiscalEvent.registered_month == export.month)
    if export.model is not None:
        query = query.where(FiscalDocument.model == export.model)
    if export.participant != Participant.ALL:
        query = query.where(FiscalDocument.direction == Direction(export.participant.value))
    return query.order_by(FiscalDocument.id)


def _checkpoint(export: FiscalExport, **values) -> None:
    """Progress is visible while the job runs: the job commits it between batches (the zip is in a file)."""
    for name, value in values.items():
        setattr(export, name, value)
    db.session.commit()


def _folder(export: FiscalExport, client_cnpj: str) -> str:
    if export.starts_at is not None:
        last = export.ends_at.astimezone(BRT) - timedelta(days=1)
        return f"{client_cnpj}_{export.starts_at.astimezone(BRT):%Y%m%d}-{last:%Y%m%d}"
    return f"{client_cnpj}_{export.month}"


def zip_name(export: FiscalExport, client_cnpj: str) -> str:
    return f"{_folder(export, client_cnpj)}.zip"


def build_export(export_id: int) -> FiscalExport:
    """Write the zip into a temporary file (each XML copied from the blob store still compressed, the CSV
    index streamed to a second file, the report drawn from totals summed on the way), store it, mark the
    export ready. Memory stays flat whatever the size of the month."""
    export = db.session.get(FiscalExport, export_id)
    if export is None or export.status in (ExportStatus.READY, ExportStatus.EXPIRED):
        return export  # a retry of a finished job changes nothing
    from partner.models import Client

    client = db.session.get(Client, export.client_id)
    _checkpoint(export, status=ExportStatus.RUNNING, progress=0)
    store = blob_store()
    query = _documents_query(export)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    root = _folder(export, client.cnpj)
    totals: dict[tuple[int, str], list[int]] = {}
    written = 0
    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp, \
            tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as index_file, \
            tempfile.TemporaryFile() as directory_file:
        index = _index_writer(index_file)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            spool_directory(archive, directory_file)
            member = _MemberWriter(archive)
            last_id = 0
            while True:  # keyset batches: memory stays flat, and progress commits between them
                batch = db.session.execute(
                    query.where(FiscalDocument.id > last_id).order_by(None).order_by(FiscalDocument.id)
                    .limit(BATCH)).all()
                if not batch:
                    break
                events = _events_by_key(export.client_id, [doc.key for doc in batch], export.environment)
                for doc in batch:
                    status = DocumentStatus(doc.status)
                    folder = f"{root}/{MODEL_FOLDERS[doc.model]}/{STATUS_FOLDERS[status]}"
                    path = f"{folder}/{doc.key}-{PROC_SUFFIX[doc.model]}.xml"
                    member.blob(path, store.get_raw(doc.blob_sha256, blob_location(doc)))
                    _write_events(member, store, doc, events.get(doc.key, ()), folder, root)
                    if export.include_pdf and doc.has_body:
                        _write_pdf(archive, store, doc, f"{root}/{MODEL_FOLDERS[doc.model]}/PDF")
                    index.writerow(_index_row(doc, path))
                    bucket = totals.setdefault((doc.model, status.value), [0, 0])
                    bucket[0] += 1
                    bucket[1] += doc.total_cents
                written += len(batch)
                last_id = batch[-1].id
                _checkpoint(export, progress=min(95, written * 95 // max(total, 1)))
            for doc, event in db.session.execute(_late_cancellations_query(export)):
                folder = f"{root}/{MODEL_FOLDERS[doc.model]}/Canceladas"
                member.blob(f"{folder}/{doc.key}-{PROC_SUFFIX[doc.model]}.xml",
                            store.get_raw(doc.blob_sha256, blob_location(doc)))
                member.blob(f"{folder}/{doc.key}-{event.event_type}-{event.sequence:02d}-procEvento.xml",
                            store.get_raw(event.blob_sha256, blob_location(event)))
                index.writerow(_index_row(doc, f"{folder}/{doc.key}-{PROC_SUFFIX[doc.model]}.xml",
                                          note=_("cancelada neste mês, emitida antes")))
                written += 1
            index_file.flush()
            index_file.seek(0)
            with archive.open(f"{root}/indice.csv", "w") as target:
                while chunk := index_file.read(256 * 1024):
                    target.write(chunk.encode("utf-8"))
            report = report_pdf(client, export.month, totals, period=export.period_label(),
                                environment=export.environment)
            archive.writestr(f"{root}/relatorio.pdf", report)
        tmp.flush()
        name = f"exports/{export.client_id}/{export.id}/{zip_name(export, client.cnpj)}"
        store.put_file(name, tmp.name)
        size = tmp.tell()
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:  # attached to the "Download das Notas" e-mail
        pdf.write(report)
        pdf.flush()
        store.put_file(report_blob_name(export), pdf.name)
    days = current_app.config.get("FISCAL_EXPORT_VALID_DAYS", DEFAULT_VALID_DAYS)
    export.status, export.progress, export.blob_name = ExportStatus.READY, 100, name
    export.document_count, export.size_bytes = written, size
    export.finished_at = utcnow()
    export.expires_at = export.finished_at + timedelta(days=days)
    db.session.flush()
    return export


class _DirectoryEntry(NamedTuple):
    """What zipfile reads of a ZipInfo to write its central directory record (``ZipFile._write_end_record``)."""

    filename: str
    flag_bits: int
    date_time: tuple
    compress_type: int
    comment: bytes
    extra: bytes
    create_system: int
    create_version: int
    extract_version: int
    reserved: int
    internal_attr: int
    external_attr: int
    header_offset: int
    CRC: int  # noqa: N815 (zipfile's name)
    compress_size: int
    file_size: int

    _encodeFilenameFlags = zipfile.ZipInfo._encodeFilenameFlags  # noqa: N815 (zipfile's; reads filename, flag_bits)


class _SpooledDirectory:
    """A zip's central directory entries, written to a file as members are added instead of kept as ZipInfo
    objects (~400 bytes each with its name and its NameToInfo entry: 20 MB at 50,000 notes, the only memory of
    an export that grew with it). zipfile appends to ``filelist`` and, when it closes, counts it and reads it
    once, in order, to write the central directory (with its ZIP64 records when needed). The file holds only
    what this process wrote to it, pickled (about a microsecond an entry each way)."""

    _values = operator.attrgetter(*_DirectoryEntry._fields)

    def __init__(self, file):
        self.file, self.count, self.read = file, 0, False

    def append(self, info: zipfile.ZipInfo) -> None:
        if self.read:  # (after a read, back to the end; a seek per entry would flush the buffer each time)
            self.file.seek(0, 2)
            self.read = False
        self.file.write(pickle.dumps(self._values(info), protocol=2))  # 2: memo slots reused by each load (4 and
        # 5 number them on from the last load's, and one Unpickler would keep every entry read until it is done)
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        self.read = True
        self.file.flush()
        self.file.seek(0)
        entries = pickle.Unpickler(self.file)
        make = _DirectoryEntry._make
        for _entry in range(self.count):
            yield make(entries.load())


class _NoNames(dict):
    """zipfile's name -> ZipInfo map, kept empty: it only warns of a repeated name, and an export's names are
    unique (each note's key, each event's key, type and sequence)."""

    def __setitem__(self, name, info) -> None:
        pass


def spool_directory(archive: zipfile.ZipFile, file) -> None:
    """Keep the central directory of ``archive`` (opened for writing, nothing added yet) in ``file`` (a binary
    temporary file that must stay open until the archive is closed) instead of memory."""
    archive.filelist = _SpooledDirectory(file)
    archive.NameToInfo = _NoNames()


class _MemberWriter:
    """Adds blobs to a zip being written to a seekable file. A blob is kept as a zlib stream, whose body is
    the raw DEFLATE data a zip member holds: it is copied as is (only inflated to learn its CRC-32), so
    the XML is not compressed a second time. Anything else goes through ``writestr``."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.stamp = time.localtime(time.time())[:6]

    def blob(self, name: str, raw: bytes) -> None:
        data = zlib.decompress(raw)
        # a zlib header: deflate method, no preset dictionary; anything else is written the usual way
        if len(raw) < 6 or raw[0] & 0x0F != 8 or raw[1] & 0x20 or len(data) > zipfile.ZIP64_LIMIT // 2:
            self.archive.writestr(name, data)
            return
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        info.file_size, info.compress_size, info.CRC = len(data), len(raw) - 6, zlib.crc32(data)
        archive = self.archive
        archive.fp.seek(archive.start_dir)
        info.header_offset = archive.fp.tell()
        archive._writecheck(info)
        archive._didModify = True
        archive.fp.write(info.FileHeader(False))
        archive.fp.write(memoryview(raw)[2:-4])
        archive.start_dir = archive.fp.tell()
        archive.filelist.append(info)
        archive.NameToInfo[name] = info


def _events_by_key(client_id: int, keys: list[str], environment: int = 1) -> dict[str, list]:
    """The events of a batch's notes (in the export's environment), in one query."""
    found: dict[str, list] = {}
    rows = db.session.execute(
        select(FiscalEvent.key, FiscalEvent.event_type, FiscalEvent.sequence, FiscalEvent.cstat,
               FiscalEvent.blob_sha256, FiscalEvent.blob_pack, FiscalEvent.blob_offset, FiscalEvent.blob_length)
        .where(FiscalEvent.client_id == client_id, FiscalEvent.environment == environment, FiscalEvent.key.in_(keys))
        .order_by(FiscalEvent.id))
    for row in rows:
        found.setdefault(row.key, []).append(row)
    return found


def _write_events(member: _MemberWriter, store, doc, events, folder: str, root: str) -> None:
    for event in events:
        target = folder if is_cancellation(event.event_type, event.cstat) else f"{root}/Eventos"
        member.blob(f"{target}/{doc.key}-{event.event_type}-{event.sequence:02d}-procEvento.xml",
                    store.get_raw(event.blob_sha256, blob_location(event)))


def _write_pdf(archive, store, doc, folder: str) -> None:
    from fiscal.pdf import PdfUnavailable, document_pdf

    try:
        archive.writestr(f"{folder}/{doc.key}.pdf",
                         document_pdf(doc, store.get(doc.blob_sha256, blob_location(doc))))
    except PdfUnavailable:
        pass  # the XML is the legal document; a PDF the library cannot draw is left out


def _index_row(doc, path: str, note: str = "") -> list:
    issued = doc.issued_at
    return [doc.key, MODEL_FOLDERS[doc.model], doc.series, doc.number, f"{issued.day:02d}/{issued.month:02d}/{issued.year}",
            STATUS_LABELS[DocumentStatus(doc.status)], doc.emitter_doc, doc.emitter_name, doc.recipient_doc,
            doc.recipient_name, f"{doc.total_cents / 100:.2f}".replace(".", ","), path, note]


class _index_writer:  # noqa: N801 (used like csv.writer)
    """The CSV index (BOM, ``;``, cells made safe for spreadsheets), written row by row to a file."""

    def __init__(self, handle):
        handle.write("\ufeff")
        self.writer = csv.writer(handle, delimiter=";")
        self.writer.writerow(["Chave", "Modelo", "Série", "Número", "Emissão", "Situação", "CNPJ/CPF emitente",
                              "Emitente", "CNPJ/CPF destinatário", "Destinatário", "Valor (R$)", "Arquivo",
                              "Observação"])

    def writerow(self, row: list) -> None:
        self.writer.writerow([safe_cell(value) for value in row])


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _brl(cents: int) -> str:
    whole, rest = divmod(abs(cents), 100)
    return ("-" if cents < 0 else "") + "R$ " + f"{whole:,}".replace(",", ".") + f",{rest:02d}"


def report_pdf(client, month: int, totals: dict[tuple[int, str], list[int]], *, period: str | None = None,
               environment: int = 1) -> bytes:
    """The period report: per model, count and R$ of authorized, cancelled, denied and contingency notes."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(_("Relatório de documentos fiscais")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    cnpj = client.cnpj
    pdf.cell(0, 6, _latin1(f"{client.legal_name} - CNPJ {cnpj}"), new_x="LMARGIN", new_y="NEXT")
    label = _("Período: %(p)s", p=period) if period else _("Período: %(m)02d/%(y)d", m=month % 100, y=month // 100)
    pdf.cell(0, 6, _latin1(label), new_x="LMARGIN", new_y="NEXT")
    if environment == 2:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(0, 6, _latin1(_("Ambiente: Homologação (sem valor fiscal)")), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
    pdf.ln(4)
    labels = [(DocumentStatus.AUTHORIZED, _("Autorizadas")), (DocumentStatus.CANCELLED, _("Canceladas")),
              (DocumentStatus.DENIED, _("Denegadas")), (DocumentStatus.CONTINGENCY, _("Contingências"))]
    for model in sorted({m for m, _status in totals} or {55}):
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 8, MODEL_FOLDERS[model].replace("NFe", "NF-e").replace("NFCe", "NFC-e").replace("CTe", "CT-e"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
        for status, label in labels:
            count, cents = totals.get((model, status.value), [0, 0])
            pdf.cell(70, 6, _latin1(_("Quantidade de %(label)s", label=label)))
            pdf.cell(20, 6, str(count))
            pdf.cell(50, 6, _latin1(_("Valor Total de %(label)s", label=label)))
            pdf.cell(0, 6, _brl(cents), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


# -- links --------------------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="fiscal-export-download")


def download_token(export: FiscalExport) -> str:
    """A link naming this export only; it stops working when the export expires (checked on use)."""
    return _serializer().dumps({"e": export.id, "c": export.client_id})


def export_from_token(token: str) -> FiscalExport | None:
    try:
        data = _serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or not isinstance(data.get("c"), int):
        return None
    export = db.session.get(FiscalExport, data["e"])
    if export is None or export.client_id != data["c"]:
        return None
    return export


def open_export(export: FiscalExport):
    try:
        return blob_store().open_file(export.blob_name)
    except (BlobNotFound, ValueError):
        return None


def exports_due(today_local: datetime, default_day: int) -> list:
    """(client, month) pairs whose automatic export of the previous month runs today (the client's day, or
    the default) and has not run yet: the unique (client, automatic_month) makes it once whatever the retries."""
    from partner.models import AccountantLink, Client, ContractStatus, LinkStatus

    previous = today_local.replace(day=1) - timedelta(days=1)
    month = previous.year * 100 + previous.month
    # the day an accepted accountant picked in the portal (the earliest, if several), else the client's, else 5
    chosen = (select(func.min(AccountantLink.export_day))
              .where(AccountantLink.client_id == Client.id, AccountantLink.status == LinkStatus.ACCEPTED)
              .scalar_subquery())
    day = func.coalesce(chosen, FiscalSettings.export_day, default_day)
    already = select(FiscalExport.client_id).where(FiscalExport.automatic_month == month)
    has_notes = select(FiscalDocument.id).where(FiscalDocument.client_id == Client.id,
                                                FiscalDocument.environment == 1,
                                                FiscalDocument.issued_month == month).exists()
    query = (
        select(Client)
        .outerjoin(FiscalSettings, FiscalSettings.client_id == Client.id)
        .where(Client.status.in_([ContractStatus.ACTIVE, ContractStatus.TRIAL]), Client.id.not_in(already),
               day <= today_local.day, has_notes)
        .order_by(Client.id)
    )
    return [(client, month) for client in db.session.execute(query).scalars()]


def accepted_accountant_emails(client_id: int) -> list[str]:
    """The accountants who accepted the company (a pending or removed one receives nothing)."""
    from accounts.models import User
    from partner.models import AccountantLink, LinkStatus

    return list(db.session.scalars(
        select(User.email).join(AccountantLink, AccountantLink.user_id == User.id)
        .where(AccountantLink.client_id == client_id, AccountantLink.status == LinkStatus.ACCEPTED,
               User.is_active.is_(True)).order_by(User.email)))


def report_blob_name(export: FiscalExport) -> str:
    return f"exports/{export.client_id}/{export.id}/relatorio.pdf"


def enqueue(export: FiscalExport) -> None:
    """Build after the transaction that created the export commits (the worker must see the row)."""
    from sqlalchemy import event

    from core.tasks import celery

    export_id = export.id

    def _send(session):
        celery.tasks["fiscal.build_export"].delay(export_id)  # by name: fiscal.tasks imports this module

    event.listen(db.session(), "after_commit", _send, once=True)


def download_url(export: FiscalExport) -> str:
    from core.urls import public_url

    return public_url("fiscal.download_export", token=download_token(export))


def notify_ready(export: FiscalExport) -> None:
    """E-mail "Download das Notas" to the requester (automatic: the accountant and the partner's managers)."""
    from core.mail import queue_email
    from partner.models import Client

    client = db.session.get(Client, export.client_id)
    recipients = [export.email] if export.email else []
    if export.automatic_month is not None:
        from accounts.services import manager_emails

        recipients += manager_emails(client.partner_id)
        recipients += accepted_accountant_emails(client.id)
    period = export.period_label()
    for address in dict.fromkeys(a for a in recipients if a):
        queue_email(address, _("Download das Notas – %(name)s – %(period)s", name=client.legal_name, period=period),
                    "fiscal_export_ready", kind="fiscal_export", partner_id=client.partner_id, client=client,
                    export=export, period=period, url=download_url(export),
                    attachment=(report_blob_name(export), f"relatorio-{client.cnpj}-{export.month}.pdf"))
    export_ready.send(export)
