"""Partner API v1: a client's fiscal documents (list with a stable cursor, one document, its XML and
PDF, the totals of a month). Another partner's client, or a key of another client, is a 404."""

import base64
import re

from flask import Response, g, request
from flask_babel import gettext as _
from sqlalchemy import or_, select

from api.common import ApiError, bp, document, error_responses, iso, partner_token_required, schema
from core.db import db
from fiscal import services
from fiscal.models import Direction, FiscalDocument, FiscalEvent
from fiscal.pdf import PdfUnavailable, document_pdf
from fiscal.status import DocumentStatus
from partner.access import get_partner_client
from partner.models import Client

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_LIMIT = 200


def _load_client(client_id) -> Client:
    client = get_partner_client(g.partner.id, client_id)
    if client is None:
        raise ApiError(404, "not_found", _("Cliente não encontrado."))
    return client


def _month(required: bool = False) -> int | None:
    raw = request.args.get("month", "")
    if not raw:
        if required:
            raise ApiError(422, "validation_error", _("Informe o mês (AAAA-MM)."), {"month": _("Obrigatório.")})
        return None
    found = MONTH_RE.match(raw)
    if not found:
        raise ApiError(422, "validation_error", _("Mês inválido: use AAAA-MM."), {"month": _("Use AAAA-MM.")})
    return int(found.group(1)) * 100 + int(found.group(2))


def _choice(name: str, allowed: dict):
    raw = request.args.get(name, "")
    if not raw:
        return None
    if raw not in allowed:
        raise ApiError(422, "validation_error", _("Valor inválido para %(name)s.", name=name),
                       {name: _("Use um de: %(values)s.", values=", ".join(allowed))})
    return allowed[raw]


def _environment() -> int:
    return _choice("environment", {"production": 1, "homologation": 2}) or 1


def _cursor() -> int:
    raw = request.args.get("cursor", "")
    if not raw:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii") + b"==").decode("ascii")
        kind, _sep, value = decoded.partition(":")
        if kind != "d" or not value.isdigit() or len(value) > 18:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeError):
        raise ApiError(422, "invalid_cursor", _("Cursor inválido: use o next_cursor da página anterior."),
                       {"cursor": _("Inválido.")}) from None


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"d:{last_id}".encode()).decode().rstrip("=")


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or len(raw) > 6:
        raise ApiError(422, "validation_error", _("limit deve ser um número inteiro."), {"limit": _("Inválido.")})
    return min(max(int(raw), 1), MAX_LIMIT)


def _events_by_key(client_id: int, environment: int, keys: list[str]) -> dict[str, list[dict]]:
    return {key: events for (_cid, key), events in events_of(environment, [(client_id, k) for k in keys]).items()}


def events_of(environment: int, identities: list[tuple[int, str]]) -> dict[tuple[int, str], list[dict]]:
    """The events of documents named by (client id, key), in one query."""
    events: dict[tuple[int, str], list[dict]] = {}
    if not identities:
        return events
    client_ids = sorted({cid for cid, _key in identities})
    rows = db.session.execute(
        select(FiscalEvent).where(FiscalEvent.client_id.in_(client_ids), FiscalEvent.environment == environment,
                                  FiscalEvent.key.in_(sorted({key for _cid, key in identities})))
        .order_by(FiscalEvent.registered_at, FiscalEvent.id)
    ).scalars()
    wanted = set(identities)
    for event in rows:
        if (event.client_id, event.key) not in wanted:
            continue
        events.setdefault((event.client_id, event.key), []).append({
            "type": event.event_type, "status": event.cstat, "sequence": event.sequence,
            "registered_at": iso(event.registered_at)})
    return events


def document_json(doc: FiscalDocument, events: list[dict]) -> dict:
    return {
        "key": doc.key, "model": doc.model, "series": doc.series, "number": doc.number,
        "issued_at": iso(doc.issued_at), "direction": Direction(doc.direction).value, "role": doc.role,
        "status": DocumentStatus(doc.status).value,
        "environment": "production" if doc.environment == 1 else "homologation",
        "emitter": {"doc": doc.emitter_doc, "name": doc.emitter_name},
        "recipient": {"doc": doc.recipient_doc, "name": doc.recipient_name},
        "total_cents": doc.total_cents, "signature": doc.signature_status, "events": events,
    }


def filtered_documents(client_scope, environment: int) -> tuple[list[FiscalDocument], str | None]:
    """One page of documents in a stable order (by arrival: the cursor names the last one seen, so an
    integrator can restart from any point), filtered by the request's month, model, direction, status
    and q. ``client_scope`` is the SQL condition naming whose documents (one client, or an accountant's
    accepted companies)."""
    query = select(FiscalDocument).where(client_scope, FiscalDocument.environment == environment,
                                         FiscalDocument.id > _cursor())
    month = _month()
    if month is not None:
        query = query.where(FiscalDocument.issued_month == month)
    model = _choice("model", {"55": 55, "65": 65, "57": 57, "67": 67})
    if model is not None:
        query = query.where(FiscalDocument.model == model)
    direction = _choice("direction", {d.value: d for d in Direction})
    if direction is not None:
        query = query.where(FiscalDocument.direction == direction)
    status = _choice("status", {s.value: s for s in DocumentStatus})
    if status is not None:
        query = query.where(FiscalDocument.status == status)
    q = request.args.get("q", "").strip()[:100]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions = [FiscalDocument.key == q.upper(), FiscalDocument.emitter_doc == q.upper(),
                      FiscalDocument.recipient_doc == q.upper(),
                      FiscalDocument.emitter_name.ilike(pattern, escape="\\"),
                      FiscalDocument.recipient_name.ilike(pattern, escape="\\")]
        if q.isdigit() and len(q) <= 9:
            conditions.append(FiscalDocument.number == int(q))
        query = query.where(or_(*conditions))
    limit = _limit()
    rows = db.session.execute(query.order_by(FiscalDocument.id).limit(limit + 1)).scalars().all()
    page, more = rows[:limit], len(rows) > limit
    return page, _encode_cursor(page[-1].id) if more else None


@bp.get("/clients/<client_id>/documents")
@partner_token_required
def list_documents(client_id):
    """The client's documents in a stable order (by arrival), filtered; ``next_cursor`` continues."""
    client = _load_client(client_id)
    environment = _environment()
    page, next_cursor = filtered_documents(FiscalDocument.client_id == client.id, environment)
    events = _events_by_key(client.id, environment, [d.key for d in page])
    return {"items": [document_json(d, events.get(d.key, [])) for d in page], "next_cursor": next_cursor}


@bp.get("/clients/<client_id>/documents/totals")
@partner_token_required
def document_totals(client_id):
    """Count and R$ of authorized, cancelled, denied and contingency documents of a month."""
    return totals_of(_load_client(client_id))


def totals_of(client: Client) -> dict:
    """The request's month totals of ``client`` (month required; model, direction, environment)."""
    month = _month(required=True)
    model = _choice("model", {"55": 55, "65": 65, "57": 57, "67": 67})
    direction = _choice("direction", {d.value: d for d in Direction})
    return services.period_totals(client.id, month, environment=_environment(), model=model, direction=direction)


def _load_document(client_id, key) -> FiscalDocument:
    return document_of(_load_client(client_id), key)


def document_of(client: Client, key) -> FiscalDocument:
    """``client``'s document by key in the request's environment, or a 404."""
    if not re.fullmatch(r"[0-9A-Za-z]{44}", key or ""):
        raise ApiError(404, "not_found", _("Documento não encontrado."))
    doc = services.find_document(client.id, _environment(), key.upper())
    if doc is None:
        raise ApiError(404, "not_found", _("Documento não encontrado."))
    return doc


@bp.get("/clients/<client_id>/documents/<key>")
@partner_token_required
def get_document(client_id, key):
    doc = _load_document(client_id, key)
    return document_json(doc, _events_by_key(doc.client_id, doc.environment, [doc.key]).get(doc.key, []))


@bp.get("/clients/<client_id>/documents/<key>/xml")
@partner_token_required
def get_document_xml(client_id, key):
    return xml_response(_load_document(client_id, key))


def xml_response(doc: FiscalDocument) -> Response:
    return Response(services.document_xml(doc), mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{doc.key}.xml"'})


@bp.get("/clients/<client_id>/documents/<key>/pdf")
@partner_token_required
def get_document_pdf(client_id, key):
    return pdf_response(_load_document(client_id, key))


def pdf_response(doc: FiscalDocument) -> Response:
    try:
        pdf = document_pdf(doc, services.document_xml(doc))
    except PdfUnavailable:
        raise ApiError(422, "pdf_unavailable",
                       _("Não foi possível gerar o PDF deste documento; baixe o XML.")) from None
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{doc.key}.pdf"'})


# -- OpenAPI ----------------------------------------------------------------------------------------

_SECURITY = [{"partnerToken": []}]
_CID = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9A-Za-z]{44}$"}}
_ENV = {"name": "environment", "in": "query", "schema": {"type": "string", "enum": ["production", "homologation"]}}
_MONTH = {"name": "month", "in": "query", "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}}
_MODEL = {"name": "model", "in": "query", "schema": {"type": "string", "enum": ["55", "65", "57", "67"]}}
_DIRECTION = {"name": "direction", "in": "query", "schema": {"type": "string", "enum": [d.value for d in Direction]}}
_PARTY = {"type": "object", "properties": {"doc": {"type": "string"}, "name": {"type": "string"}}}
_COUNT = {"type": "object", "required": ["count", "total_cents"],
          "properties": {"count": {"type": "integer"}, "total_cents": {"type": "integer"}}}
schema("FiscalDocument", {
    "type": "object",
    "required": ["key", "model", "series", "number", "issued_at", "direction", "status", "environment", "emitter",
                 "recipient", "total_cents", "events"],
    "properties": {
        "key": {"type": "string"}, "model": {"type": "integer"}, "series": {"type": "integer"},
        "number": {"type": "integer"}, "issued_at": {"type": "string", "format": "date-time"},
        "direction": {"type": "string", "enum": [d.value for d in Direction]}, "role": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in DocumentStatus]},
        "environment": {"type": "string", "enum": ["production", "homologation"]},
        "emitter": _PARTY, "recipient": _PARTY, "total_cents": {"type": "integer"},
        "signature": {"type": "string"},
        "events": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string"}, "status": {"type": ["integer", "null"]}, "sequence": {"type": "integer"},
            "registered_at": {"type": ["string", "null"], "format": "date-time"}}}},
    },
})
schema("FiscalTotals", {"type": "object", "required": ["authorized", "cancelled", "denied", "contingency"],
                        "properties": {s: _COUNT for s in ("authorized", "cancelled", "denied", "contingency")}})
document("/api/v1/clients/{client_id}/documents", "get", {
    "summary": "Documentos fiscais do cliente (cursor estável por documento)",
    "operationId": "listDocuments", "security": _SECURITY, "tags": ["documentos"],
    "parameters": [_CID, _MONTH, _MODEL, _DIRECTION, _ENV,
                   {"name": "status", "in": "query", "schema": {"type": "string",
                                                                "enum": [s.value for s in DocumentStatus]}},
                   {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                   {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}],
    "responses": {"200": {"description": "Uma página", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/FiscalDocument"}},
            "next_cursor": {"type": ["string", "null"]}}}}}},
        **error_responses(401, 404, 422, 429)},
})
document("/api/v1/clients/{client_id}/documents/totals", "get", {
    "summary": "Totais do mês: autorizadas, canceladas, denegadas, contingência (quantidade e valor)",
    "operationId": "documentTotals", "security": _SECURITY, "tags": ["documentos"],
    "parameters": [_CID, {**_MONTH, "required": True}, _MODEL, _DIRECTION, _ENV],
    "responses": {"200": {"description": "Totais", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/FiscalTotals"}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/clients/{client_id}/documents/{key}", "get", {
    "summary": "Um documento e seus eventos", "operationId": "getDocument", "security": _SECURITY,
    "tags": ["documentos"], "parameters": [_CID, _KEY, _ENV],
    "responses": {"200": {"description": "Documento", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/FiscalDocument"}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/clients/{client_id}/documents/{key}/xml", "get", {
    "summary": "O XML do documento", "operationId": "getDocumentXml", "security": _SECURITY,
    "tags": ["documentos"], "parameters": [_CID, _KEY, _ENV],
    "responses": {"200": {"description": "XML", "content": {"application/xml": {"schema": {"type": "string"}}}},
                  **error_responses(401, 404, 422, 429)},
})
document("/api/v1/clients/{client_id}/documents/{key}/pdf", "get", {
    "summary": "DANFE, DANFCe ou DACTE em PDF (CANCELADA quando cancelado)", "operationId": "getDocumentPdf",
    "security": _SECURITY, "tags": ["documentos"], "parameters": [_CID, _KEY, _ENV],
    "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {
        "type": "string", "format": "binary"}}}}, **error_responses(401, 404, 422, 429)},
})


# -- exports --------------------------------------------------------------------------------------------

from fiscal import exports as fiscal_exports  # noqa: E402
from fiscal.models import ExportStatus, FiscalExport  # noqa: E402


def export_json(export: FiscalExport) -> dict:
    state = export.current_status()
    return {"id": export.id, "client_id": export.client_id, "status": state.value, "progress": export.progress,
            "month": f"{export.month // 100}-{export.month % 100:02d}", "document_count": export.document_count,
            "download_url": fiscal_exports.download_url(export) if state == ExportStatus.READY else None,
            "expires_at": iso(export.expires_at)}


@bp.post("/clients/<client_id>/exports")
@partner_token_required
def create_export(client_id):
    """Start an export of a month (zip with Canceladas/, PDF report, CSV index; DANFEs on request)."""
    from api.common import json_body

    client = _load_client(client_id)
    export = export_from_body(client, json_body())
    return {"id": export.id, "status": export.current_status().value}, 202


def export_from_body(client: Client, body: dict, extra: frozenset = frozenset()) -> FiscalExport:
    """Validate an export request's JSON body and start the export (queued after commit)."""
    unknown = set(body) - {"month", "model", "participant", "include_pdf", "email"} - extra
    if unknown:
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."),
                       {k: _("Campo desconhecido.") for k in sorted(unknown)})
    month = body.get("month")
    found = MONTH_RE.match(month) if isinstance(month, str) else None
    if not found:
        raise ApiError(422, "validation_error", _("Mês inválido: use AAAA-MM."), {"month": _("Use AAAA-MM.")})
    model = body.get("model")
    if model is not None and (isinstance(model, bool) or model not in (55, 65, 57, 67)):
        raise ApiError(422, "validation_error", _("Modelo inválido."), {"model": _("Use 55, 65 ou 57.")})
    include_pdf = body.get("include_pdf", False)
    email = body.get("email", "")
    if not isinstance(include_pdf, bool) or not isinstance(email, str) or len(email) > 254:
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."),
                       {"include_pdf": _("Use true ou false.")} if not isinstance(include_pdf, bool)
                       else {"email": _("E-mail inválido.")})
    participant = body.get("participant", "all")
    try:
        export = fiscal_exports.request_export(
            client, month=int(found.group(1)) * 100 + int(found.group(2)), model=model,
            participant=participant if isinstance(participant, str) else "?", include_pdf=include_pdf, email=email)
    except fiscal_exports.ExportError as exc:
        raise ApiError(422, "validation_error", exc.message, exc.fields) from None
    fiscal_exports.enqueue(export)
    return export


@bp.get("/exports/<export_id>")
@partner_token_required
def get_export(export_id):
    """An export's progress; ``download_url`` once ready, until it expires."""
    from partner.models import Client

    if not str(export_id).isdigit() or len(str(export_id)) > 18:
        raise ApiError(404, "not_found", _("Exportação não encontrada."))
    export = db.session.execute(
        select(FiscalExport).join(Client, Client.id == FiscalExport.client_id)
        .where(FiscalExport.id == int(export_id), Client.partner_id == g.partner.id)
    ).scalar_one_or_none()
    if export is None:
        raise ApiError(404, "not_found", _("Exportação não encontrada."))
    return export_json(export)


schema("FiscalExport", {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "integer"}, "client_id": {"type": "integer"},
    "status": {"type": "string", "enum": [s.value for s in ExportStatus]}, "progress": {"type": "integer"},
    "month": {"type": "string"}, "document_count": {"type": "integer"},
    "download_url": {"type": ["string", "null"]}, "expires_at": {"type": ["string", "null"], "format": "date-time"}}})
document("/api/v1/clients/{client_id}/exports", "post", {
    "summary": "Exporta as notas de um mês (zip com Canceladas/, relatório PDF e índice CSV)",
    "operationId": "createExport", "security": _SECURITY, "tags": ["documentos"], "parameters": [_CID],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["month"], "additionalProperties": False, "properties": {
            "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
            "model": {"type": ["integer", "null"], "enum": [55, 65, 57, 67, None]},
            "participant": {"type": "string", "enum": ["issued", "received", "all"]},
            "include_pdf": {"type": "boolean"}, "email": {"type": "string", "maxLength": 254}}}}}},
    "responses": {"202": {"description": "Exportação iniciada", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}}}}},
        **error_responses(400, 401, 404, 422, 429)},
})
document("/api/v1/exports/{export_id}", "get", {
    "summary": "Situação de uma exportação e o link de download", "operationId": "getExport",
    "security": _SECURITY, "tags": ["documentos"],
    "parameters": [{"name": "export_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Exportação", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/FiscalExport"}}}}, **error_responses(401, 404, 429)},
})
