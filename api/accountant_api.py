"""Accountant API v1 (bearer accountant token ``rvc_…``): the accepted companies, their fiscal documents
(one stable cursor across companies), XML and PDF, totals and exports.

The same filters, cursor, document shape and export rules as the partner's documents API
(api/documents_api.py): only the scope differs. Every request reads the accountant's accepted companies
afresh, so a removed company is gone at once; a company not accepted answers 404."""

import re
from datetime import date, timedelta

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import select

from api import documents_api as docs
from api.common import ApiError, accountant_token_required, bp, document, error_responses, json_body, schema
from core.db import db
from core.security import parse_id
from fiscal import services as fiscal_services
from fiscal.models import Direction, FiscalDocument, FiscalExport
from partner.accountants import accepted_client_ids
from partner.models import Client


def _accepted():
    return accepted_client_ids(g.accountant_id)


def _company(value, *, required: bool) -> Client | None:
    """An accepted company by id (the ``company`` parameter), or a 404 for any other."""
    if value in (None, ""):
        if required:
            raise ApiError(422, "validation_error", _("Informe a empresa (company)."),
                           {"company": _("Obrigatório.")})
        return None
    number = parse_id(value)
    client = db.session.scalar(select(Client).where(Client.id == number, Client.id.in_(_accepted()))) \
        if number is not None else None
    if client is None:
        raise ApiError(404, "not_found", _("Empresa não encontrada."))
    return client


def company_json(client: Client) -> dict:
    return {"id": client.id, "cnpj": client.cnpj, "legal_name": client.legal_name,
            "trade_name": client.trade_name, "status": client.status.value}


@bp.get("/accountant/companies")
@accountant_token_required
def accountant_companies():
    """The companies that accepted the accountant (the only ones it can read)."""
    rows = db.session.scalars(select(Client).where(Client.id.in_(_accepted())).order_by(Client.legal_name, Client.id))
    return {"items": [company_json(c) for c in rows]}


@bp.get("/accountant/documents")
@accountant_token_required
def accountant_documents():
    """Documents of every accepted company (or of ``company``), in arrival order; ``next_cursor`` continues."""
    company = _company(request.args.get("company"), required=False)
    scope = FiscalDocument.client_id == company.id if company else FiscalDocument.client_id.in_(_accepted())
    environment = docs._environment()
    page, next_cursor = docs.filtered_documents(scope, environment)
    events = docs.events_of(environment, [(d.client_id, d.key) for d in page])
    return {"items": [{**docs.document_json(d, events.get((d.client_id, d.key), [])), "company_id": d.client_id}
                      for d in page], "next_cursor": next_cursor}


DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_DAYS = 366  # as the portal's custom period


def _day(name: str) -> date:
    raw = request.args.get(name, "")
    try:
        if not DAY_RE.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "validation_error", _("Data inválida em %(name)s: use AAAA-MM-DD.", name=name),
                       {name: _("Use AAAA-MM-DD.")}) from None


def _period() -> tuple[date, date]:
    """The Brasília days asked for: ``month`` (AAAA-MM) or ``from`` and ``to`` (AAAA-MM-DD, inclusive)."""
    if "from" not in request.args and "to" not in request.args:
        month = docs._month(required=True)
        try:
            first = date(month // 100, month % 100, 1)
            return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        except (ValueError, OverflowError):  # year 0000 or 9999-12
            raise ApiError(422, "validation_error", _("Mês inválido: use AAAA-MM."),
                           {"month": _("Use AAAA-MM.")}) from None
    if request.args.get("month"):
        raise ApiError(422, "validation_error", _("Informe o mês (month) ou o período (from e to), não ambos."),
                       {"month": _("Não use com from e to.")})
    first, last = _day("from"), _day("to")
    if last < first:
        raise ApiError(422, "validation_error", _("A data final deve ser igual ou posterior à inicial."),
                       {"to": _("Anterior a from.")})
    if (last - first).days >= MAX_DAYS:
        raise ApiError(422, "validation_error", _("O período pode ter no máximo %(n)s dias.", n=MAX_DAYS),
                       {"to": _("Período longo demais.")})
    return first, last


@bp.get("/accountant/documents/totals")
@accountant_token_required
def accountant_totals():
    """One company's totals of a month or a period (authorized, cancelled, denied, contingency: count and R$),
    read from the day totals by the service the portal's totals block uses (Brasília days, as its periods)."""
    company = _company(request.args.get("company"), required=True)
    first, last = _period()
    model = docs._choice("model", {"55": 55, "65": 65, "57": 57, "67": 67})
    direction = docs._choice("direction", {d.value: d for d in Direction})
    return fiscal_services.range_totals([company.id], first, last, environment=docs._environment(), model=model,
                                        direction=direction)


def _document(key) -> FiscalDocument:
    company = _company(request.args.get("company"), required=True)
    return docs.document_of(company, key)


@bp.get("/accountant/documents/<key>")
@accountant_token_required
def accountant_document(key):
    doc = _document(key)
    events = docs.events_of(doc.environment, [(doc.client_id, doc.key)])
    return {**docs.document_json(doc, events.get((doc.client_id, doc.key), [])), "company_id": doc.client_id}


@bp.get("/accountant/documents/<key>/xml")
@accountant_token_required
def accountant_document_xml(key):
    return docs.xml_response(_document(key))


@bp.get("/accountant/documents/<key>/pdf")
@accountant_token_required
def accountant_document_pdf(key):
    return docs.pdf_response(_document(key))


@bp.post("/accountant/exports")
@accountant_token_required
def accountant_create_export():
    """Start an export of one company's month (same body as the partner API, plus ``company``)."""
    body = json_body()
    company = _company(body.get("company"), required=True)
    export = docs.export_from_body(company, {k: v for k, v in body.items() if k != "company"})
    export.requested_by_id = g.accountant_id
    return {"id": export.id, "status": export.current_status().value}, 202


@bp.get("/accountant/exports/<export_id>")
@accountant_token_required
def accountant_export(export_id):
    """An export of an accepted company; ``download_url`` once ready, until it expires."""
    number = parse_id(export_id)
    export = db.session.scalar(select(FiscalExport).where(
        FiscalExport.id == number, FiscalExport.client_id.in_(_accepted()))) if number is not None else None
    if export is None:
        raise ApiError(404, "not_found", _("Exportação não encontrada."))
    return docs.export_json(export)


# -- OpenAPI -------------------------------------------------------------------------------------

_SECURITY = [{"accountantToken": []}]
_COMPANY = {"name": "company", "in": "query", "schema": {"type": "integer"}, "description": "id from /companies"}
_REQUIRED_COMPANY = {**_COMPANY, "required": True}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9A-Za-z]{44}$"}}
_ENV = {"name": "environment", "in": "query", "schema": {"type": "string", "enum": ["production", "homologation"]}}
_MONTH = {"name": "month", "in": "query", "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}}
_MODEL = {"name": "model", "in": "query", "schema": {"type": "string", "enum": ["55", "65", "57", "67"]}}
_DIRECTION = {"name": "direction", "in": "query",
              "schema": {"type": "string", "enum": ["issued", "received"]},
              "description": "issued: the company is the emitter (Emitente); received: Destinatário"}
_TAGS = ["contador"]

schema("AccountantCompany", {"type": "object", "required": ["id", "cnpj", "legal_name"], "properties": {
    "id": {"type": "integer"}, "cnpj": {"type": "string"}, "legal_name": {"type": "string"},
    "trade_name": {"type": "string"}, "status": {"type": "string"}}})
schema("AccountantDocument", {"allOf": [{"$ref": "#/components/schemas/FiscalDocument"}, {
    "type": "object", "properties": {"company_id": {"type": "integer"}}}]})

document("/api/v1/accountant/companies", "get", {
    "summary": "Empresas que aceitaram o contador", "operationId": "accountantCompanies", "security": _SECURITY,
    "tags": _TAGS, "responses": {"200": {"description": "Empresas", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"items": {"type": "array", "items": {
            "$ref": "#/components/schemas/AccountantCompany"}}}}}}}, **error_responses(401, 429)},
})
document("/api/v1/accountant/documents", "get", {
    "summary": "Documentos das empresas aceitas (cursor estável por documento: recomece de qualquer ponto)",
    "operationId": "accountantDocuments", "security": _SECURITY, "tags": _TAGS,
    "parameters": [_COMPANY, _MONTH, _MODEL, _DIRECTION, _ENV,
                   {"name": "status", "in": "query", "schema": {"type": "string"}},
                   {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                   {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": docs.MAX_LIMIT}}],
    "responses": {"200": {"description": "Uma página", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AccountantDocument"}},
            "next_cursor": {"type": ["string", "null"]}}}}}}, **error_responses(401, 404, 422, 429)},
})
_DAY = {"in": "query", "schema": {"type": "string", "format": "date"}}
document("/api/v1/accountant/documents/totals", "get", {
    "summary": "Totais de uma empresa no mês (month) ou no período (from e to, dias de Brasília, até 366)",
    "operationId": "accountantTotals", "security": _SECURITY,
    "tags": _TAGS, "parameters": [_REQUIRED_COMPANY, _MONTH, {**_DAY, "name": "from"}, {**_DAY, "name": "to"},
                                  _MODEL, _DIRECTION, _ENV],
    "responses": {"200": {"description": "Totais", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/FiscalTotals"}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/accountant/documents/{key}", "get", {
    "summary": "Um documento e seus eventos", "operationId": "accountantDocument", "security": _SECURITY,
    "tags": _TAGS, "parameters": [_KEY, _REQUIRED_COMPANY, _ENV],
    "responses": {"200": {"description": "Documento", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/AccountantDocument"}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/accountant/documents/{key}/xml", "get", {
    "summary": "O XML do documento", "operationId": "accountantDocumentXml", "security": _SECURITY, "tags": _TAGS,
    "parameters": [_KEY, _REQUIRED_COMPANY, _ENV],
    "responses": {"200": {"description": "XML", "content": {"application/xml": {"schema": {"type": "string"}}}},
                  **error_responses(401, 404, 422, 429)},
})
document("/api/v1/accountant/documents/{key}/pdf", "get", {
    "summary": "DANFE, DANFCe ou DACTE em PDF", "operationId": "accountantDocumentPdf", "security": _SECURITY,
    "tags": _TAGS, "parameters": [_KEY, _REQUIRED_COMPANY, _ENV],
    "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {
        "type": "string", "format": "binary"}}}}, **error_responses(401, 404, 422, 429)},
})
document("/api/v1/accountant/exports", "post", {
    "summary": "Exporta as notas de um mês de uma empresa", "operationId": "accountantCreateExport",
    "security": _SECURITY, "tags": _TAGS,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["company", "month"], "additionalProperties": False, "properties": {
            "company": {"type": "integer"}, "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
            "model": {"type": ["integer", "null"], "enum": [55, 65, 57, 67, None]},
            "participant": {"type": "string", "enum": ["issued", "received", "all"]},
            "include_pdf": {"type": "boolean"}, "email": {"type": "string", "maxLength": 254}}}}}},
    "responses": {"202": {"description": "Exportação iniciada", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}}}}},
        **error_responses(401, 404, 422, 429)},
})
document("/api/v1/accountant/exports/{export_id}", "get", {
    "summary": "Situação de uma exportação e o link de download", "operationId": "accountantExport",
    "security": _SECURITY, "tags": _TAGS,
    "parameters": [{"name": "export_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Exportação", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/FiscalExport"}}}}, **error_responses(401, 404, 429)},
})
