"""The partner panel's fiscal screens: month and model filters, the lists of issued and supplier notes,
acknowledging, one note with its events, the e-mailed link to a note's XML, uploads run as a background
job, and the dashboard's contingency counts. Services flush, never commit."""

from __future__ import annotations

import io
import re
import tempfile
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

from flask import Response, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, tuple_

from core.blobstore import BlobNotFound, blob_store
from core.db import db, utcnow
from fiscal import archives, services
from fiscal.models import (
    Direction,
    FiscalDocument,
    FiscalEvent,
    FiscalImport,
    FiscalMonthTotal,
    ImportStatus,
    blob_location,
)
from fiscal.status import DocumentStatus

MODELS = {55: "NF-e", 65: "NFC-e", 57: "CT-e"}
STATUS_LABELS = {DocumentStatus.AUTHORIZED: _l("Autorizada"), DocumentStatus.CANCELLED: _l("Cancelada"),
                 DocumentStatus.DENIED: _l("Denegada"), DocumentStatus.CONTINGENCY: _l("Contingência"),
                 DocumentStatus.NOT_A_DOCUMENT: _l("Sem autorização")}
STATUS_COLORS = {DocumentStatus.AUTHORIZED: "success", DocumentStatus.CANCELLED: "secondary",
                 DocumentStatus.DENIED: "danger", DocumentStatus.CONTINGENCY: "warning",
                 DocumentStatus.NOT_A_DOCUMENT: "light"}
EVENT_LABELS = {"110111": _l("Cancelamento"), "110112": _l("Cancelamento por substituição"),
                "110110": _l("Carta de correção"), "110140": _l("EPEC"), "210200": _l("Confirmação da operação"),
                "210210": _l("Ciência da operação"), "210220": _l("Desconhecimento da operação"),
                "210240": _l("Operação não realizada"), "110180": _l("Comprovante de entrega"),
                "610110": _l("Prestação de serviço em desacordo")}
SIGNATURE_LABELS = {"valid": _l("Assinatura conferida (resumo confere)"),
                    "mismatch": _l("Assinatura não confere com o conteúdo"),
                    "unsigned": _l("Sem assinatura")}
RESULT_LABELS = {"created": _l("Importado"), "duplicate": _l("Já existia"), "updated": _l("Atualizado"),
                 "refused": _l("Recusado")}
XML_LINK_DAYS = 7
#: tpAmb 1 / 2: the screens show production unless asked for homologation, never both at once
ENVIRONMENTS = {1: ("producao", _l("Produção")), 2: ("homologacao", _l("Homologação"))}
_ENVIRONMENT_PARAMS = {param: value for value, (param, _label) in ENVIRONMENTS.items()}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PanelError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def current_month() -> int:
    return services.month_of(utcnow())


def previous_month(month: int) -> int:
    year, m = divmod(month, 100)
    return (year - 1) * 100 + 12 if m == 1 else month - 1


def parse_month(value: str | None) -> int:
    """AAAA-MM (empty: the current month) → AAAAMM; PanelError otherwise."""
    if not value:
        return current_month()
    match = _MONTH.match(value.strip())
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2999:
        raise PanelError(_("Mês inválido: use AAAA-MM, por exemplo %(m)s.", m=month_label_iso(current_month())),
                         "mes")
    return int(match[1]) * 100 + int(match[2])


def parse_model(value: str | None, *, allow_all: bool = False) -> int | None:
    if not value:
        return None if allow_all else 55
    if value == "todos" and allow_all:
        return None
    try:
        model = int(value)
    except ValueError:
        model = 0
    if model not in MODELS:
        raise PanelError(_("Tipo inválido: escolha NF-e, NFC-e ou CT-e."), "modelo")
    return model


def parse_environment(value: str | None) -> int:
    """``ambiente`` = producao (the default) | homologacao → tpAmb 1 | 2; PanelError otherwise."""
    if not value:
        return 1
    environment = _ENVIRONMENT_PARAMS.get(value.strip().lower())
    if environment is None:
        raise PanelError(_("Ambiente inválido: escolha Produção ou Homologação."), "ambiente")
    return environment


def environment_param(environment: int) -> str | None:
    """The ``ambiente`` a link carries: none for production (the default), ``homologacao`` otherwise."""
    return None if environment == 1 else ENVIRONMENTS[environment][0]


def month_label_iso(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


def documents_query(client_id: int, month: int, *, direction: Direction, model: int | None = None,
                    acknowledged: bool | None = None, environment: int = 1):
    query = select(FiscalDocument).where(
        FiscalDocument.client_id == client_id, FiscalDocument.environment == environment,
        FiscalDocument.direction == direction, FiscalDocument.issued_month == month,
        FiscalDocument.status != DocumentStatus.NOT_A_DOCUMENT)
    if model is not None:
        query = query.where(FiscalDocument.model == model)
    if acknowledged is True:
        query = query.where(FiscalDocument.acknowledged_at.is_not(None))
    elif acknowledged is False:
        query = query.where(FiscalDocument.acknowledged_at.is_(None))
    return query.order_by(FiscalDocument.issued_at.desc(), FiscalDocument.id.desc())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,18})$")


def page_of(query, cursor: str | None, per_page: int = 50):
    """Keyset pagination on (issued_at, id) descending, the order of the list index: any page is one index
    range read of ``per_page + 1`` rows (no COUNT, no OFFSET over a month of 200,000 notes). ``cursor`` is
    the ``next`` of the page before; a malformed one means the first page."""
    found = _CURSOR.match(cursor or "")
    if found:
        moment = _EPOCH + timedelta(microseconds=int(found[1]))
        query = query.where(tuple_(FiscalDocument.issued_at, FiscalDocument.id) < (moment, int(found[2])))
    rows = db.session.scalars(query.limit(per_page + 1)).all()
    items, more = rows[:per_page], len(rows) > per_page
    last = items[-1] if items else None
    following = (f"{(last.issued_at - _EPOCH) // timedelta(microseconds=1)}.{last.id}" if more and last else None)
    return {"items": items, "next": following, "first": bool(found)}


def acknowledge(client_id: int, keys: list[str], user, *, environment: int = 1) -> int:
    """Mark supplier notes "Reconhecidas"; keys of another client or already acknowledged are left alone."""
    keys = [k for k in dict.fromkeys(keys) if isinstance(k, str) and len(k) == 44 and k.isdigit()]
    if not keys:
        raise PanelError(_("Selecione ao menos uma nota."), "chaves")
    documents = db.session.scalars(select(FiscalDocument).where(
        FiscalDocument.client_id == client_id, FiscalDocument.environment == environment,
        FiscalDocument.direction == Direction.RECEIVED, FiscalDocument.key.in_(keys),
        FiscalDocument.acknowledged_at.is_(None))).all()
    now = utcnow()
    for document in documents:
        document.acknowledged_at, document.acknowledged_by_id = now, user.id
    db.session.flush()
    return len(documents)


def get_document(client_id: int, key: str, environment: int = 1) -> FiscalDocument | None:
    if not (isinstance(key, str) and len(key) == 44 and key.isdigit()):
        return None
    return services.find_document(client_id, environment, key)


def events_of(document: FiscalDocument) -> list[FiscalEvent]:
    return db.session.scalars(select(FiscalEvent).where(
        FiscalEvent.client_id == document.client_id, FiscalEvent.environment == document.environment,
        FiscalEvent.key == document.key).order_by(FiscalEvent.registered_at, FiscalEvent.id)).all()


def pdf_response(document: FiscalDocument):
    """The note's DANFE / DACTE shown inline, or the error page (422) saying why it cannot be drawn: the
    "Visualizar DANFE" of the Gerenciar screens and of the accountants' portal."""
    from fiscal.pdf import PDF_LABELS, PdfUnavailable, document_pdf

    try:
        pdf = document_pdf(document, services.document_xml(document))
    except PdfUnavailable:
        message = _("Não foi possível gerar o %(label)s deste documento: o XML não tem o conteúdo da nota (só o "
                    "protocolo) ou não pôde ser lido. Baixe o XML.", label=PDF_LABELS.get(document.model, "PDF"))
        return render_template("error.html", code=422, message=message), 422
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.key}.pdf"'})


def xml_download(document: FiscalDocument) -> tuple[bytes, str, str]:
    """(bytes, filename, mimetype): the note's XML, or a zip of it and its events' XML when it has events."""
    xml = services.document_xml(document)
    events = events_of(document)
    if not events:
        return xml, f"{document.key}.xml", "application/xml"
    store = blob_store()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{document.key}.xml", xml)
        for event in events:
            archive.writestr(f"{document.key}-evento-{event.event_type}-{event.sequence}.xml",
                             store.get(event.blob_sha256, blob_location(event)))
    return buffer.getvalue(), f"{document.key}.zip", "application/zip"


def report_totals(client_id: int, month: int, model: int | None, *, environment: int = 1
                  ) -> dict[tuple[int, str], list[int]]:
    """{(model, status): [count, cents]} of the client's issued notes in a month, from the month totals."""
    table = FiscalMonthTotal
    query = (select(table.model, table.status, func.sum(table.count), func.sum(table.total_cents))
             .where(table.client_id == client_id, table.environment == environment,
                    table.direction == Direction.ISSUED.value, table.issued_month == month)
             .group_by(table.model, table.status))
    if model is not None:
        query = query.where(table.model == model)
    totals = {(model, status.value): [0, 0] for status in
              (DocumentStatus.AUTHORIZED, DocumentStatus.CANCELLED, DocumentStatus.DENIED,
               DocumentStatus.CONTINGENCY)} if model is not None else {}
    for row_model, status, count, cents in db.session.execute(query):
        if status != DocumentStatus.NOT_A_DOCUMENT and (count or cents):
            totals[(int(row_model), DocumentStatus(status).value)] = [int(count), int(cents)]
    return totals


# -- the e-mailed link to one note's XML --------------------------------------------------------------


def _xml_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="fiscal-document-xml")


def xml_link_token(document: FiscalDocument) -> str:
    return _xml_serializer().dumps({"d": document.id, "c": document.client_id, "k": document.key})


def document_from_xml_token(token: str) -> FiscalDocument:
    """The document a link names; SignatureExpired after XML_LINK_DAYS, BadSignature when forged."""
    data = _xml_serializer().loads(token, max_age=XML_LINK_DAYS * 86400)
    if not isinstance(data, dict):
        raise BadSignature("payload")
    document = db.session.get(FiscalDocument, data.get("d")) if isinstance(data.get("d"), int) else None
    if document is None or document.client_id != data.get("c") or document.key != data.get("k"):
        raise BadSignature("document")
    return document


def email_xml_link(client, document: FiscalDocument, address: str, user) -> None:
    from core.mail import queue_email
    from core.urls import public_url
    from core.validators import ValidationError, clean_email

    try:
        address = clean_email(address)
    except (ValidationError, ValueError):
        raise PanelError(_("Informe um e-mail válido."), "email")
    expires = utcnow() + timedelta(days=XML_LINK_DAYS)
    url = public_url("fiscal.public_xml", token=xml_link_token(document))
    label = MODELS.get(document.model, "")
    queue_email(address, _("XML da %(label)s nº %(n)s – %(name)s", label=label, n=document.number,
                           name=client.legal_name),
                "fiscal_document_link", kind="fiscal_document", partner_id=client.partner_id, client=client,
                document=document, label=label, url=url, expires_at=expires, sender=user)


# -- uploads in the panel: a background job -------------------------------------------------------------


def start_import(client, filename: str, data: bytes, user, *, limit: int = 50 * 1024 * 1024) -> FiscalImport:
    """Keep the upload in the blob store and create the job (the caller enqueues after commit)."""
    filename = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
    if not data:
        raise PanelError(_("Escolha um arquivo XML ou zip para enviar."), "arquivo")
    if len(data) > limit:
        raise PanelError(_("O envio passa de %(mb)s MB; divida-o em partes.", mb=limit // (1024 * 1024)), "arquivo")
    is_zip = data[:4] == b"PK\x03\x04"
    if filename.lower().endswith(".zip") and not is_zip:
        raise PanelError(_("O arquivo enviado não é um zip válido."), "arquivo")
    if not is_zip:
        head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if head != b"<":
            raise PanelError(_("Envie arquivos XML de notas fiscais ou um zip com eles."), "arquivo")
        total = 1
    else:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                total = sum(1 for i in archive.infolist()
                            if not i.is_dir() and not i.filename.startswith("__MACOSX/"))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
            raise PanelError(_("O arquivo enviado não é um zip válido."), "arquivo")
        if total == 0:
            raise PanelError(_("O zip está vazio."), "arquivo")
    name = f"imports/{client.id}/{uuid.uuid4().hex}{'.zip' if is_zip else '.xml'}"
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(data)
        tmp.flush()
        blob_store().put_file(name, tmp.name)
    job = FiscalImport(client_id=client.id, requested_by_id=getattr(user, "id", None), filename=filename,
                       blob_name=name, total=total, results=[])
    db.session.add(job)
    db.session.flush()
    return job


def enqueue_import(job: FiscalImport) -> None:
    from sqlalchemy import event

    from core.tasks import celery

    job_id = job.id

    def _send(session):
        celery.tasks["fiscal.run_import"].delay(job_id)  # by name: fiscal.tasks imports this module

    event.listen(db.session(), "after_commit", _send, once=True)


def run_import(job_id: int, *, checkpoint_every: int = 50) -> FiscalImport | None:
    """Ingest the upload file by file, committing progress as it goes (the page polls it)."""
    from partner.models import Client

    job = db.session.get(FiscalImport, job_id)
    if job is None or job.status == ImportStatus.DONE:
        return job
    client = db.session.get(Client, job.client_id)
    try:
        with blob_store().open_file(job.blob_name) as handle:
            data = handle.read()
    except (BlobNotFound, ValueError):
        job.status, job.error, job.finished_at = ImportStatus.FAILED, "missing", utcnow()
        db.session.commit()
        return job
    job.status, job.processed, results = ImportStatus.RUNNING, 0, []
    db.session.commit()

    def record(result):
        results.append(result.as_dict())
        job.processed = len(results)
        if len(results) % checkpoint_every == 0:
            job.results = list(results)
            db.session.commit()

    if data[:4] == b"PK\x03\x04":
        pending: list[tuple] = []  # ingested together (one pack, one lookup) between two progress commits

        def flush():
            for result in services.ingest_files(client, pending):
                record(result)
            pending.clear()

        try:
            for member in archives.iter_zip(data):
                if member.data is None:
                    flush()
                    message = services.refusal_message(member.error)
                    record(services.FileResult(file=member.name, result="refused",
                                               error={"code": member.error_code, "message": message}))
                else:
                    pending.append((member.name, member.data, member.stream))
                    if len(pending) >= checkpoint_every:
                        flush()
            flush()
        except archives.ArchiveError as exc:
            flush()
            message = services.refusal_message(exc.message)
            record(services.FileResult(file=job.filename, result="refused",
                                       error={"code": exc.code, "message": message}))
    else:
        record(services.ingest_file(client, job.filename, data))
    job.results, job.total = list(results), max(job.total, len(results))
    job.status, job.finished_at = ImportStatus.DONE, utcnow()
    try:
        blob_store().delete_file(job.blob_name)
    except (BlobNotFound, ValueError, OSError):
        pass
    db.session.commit()
    return job


# -- dashboard -----------------------------------------------------------------------------------------


def contingency_counts(client_ids: list[int]) -> dict[int, int]:
    """{client_id: contingency notes pending sync} for a page of clients: one grouped query."""
    rows = db.session.execute(
        select(FiscalDocument.client_id, func.count())
        .where(FiscalDocument.client_id.in_(list(client_ids)), FiscalDocument.environment == 1,
               FiscalDocument.status == DocumentStatus.CONTINGENCY)
        .group_by(FiscalDocument.client_id))
    return {client_id: int(count) for client_id, count in rows}


def bundle_files(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """Several XML files chosen at once: one zip, so the job reads one upload."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(files):
            safe = (name or f"arquivo-{index}.xml").rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or f"arquivo-{index}.xml"
            archive.writestr(f"{index:04d}-{safe}", data)
    return "arquivos.zip", buffer.getvalue()
