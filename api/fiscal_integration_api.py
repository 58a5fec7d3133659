"""Integration API: the client's software pushes its fiscal XML and asks what it still has to send."""

from flask import g, request
from flask_babel import gettext as _

from api.common import ApiError, document, error_responses, iso, schema
from api.integration_api import bp, integration_key_required, per_key_limit
from core.security import large_upload
from fiscal import services
from fiscal.status import DocumentStatus

XML_TYPES = ("application/xml", "text/xml")
ZIP_TYPES = ("application/zip", "application/x-zip-compressed")


@bp.post("/documents")
@large_upload("FISCAL_MAX_UPLOAD")
@per_key_limit
@integration_key_required
def push_documents():
    """One XML (application/xml) or a zip of them (application/zip); a result per file."""
    mimetype = request.mimetype
    if mimetype not in XML_TYPES + ZIP_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       _("Envie um XML (Content-Type: application/xml) ou um zip (application/zip)."))
    data = request.get_data(cache=False)
    if not data:
        raise ApiError(400, "empty_body", _("O corpo da requisição está vazio: envie o XML ou o zip."))
    filename = request.headers.get("X-Filename", "documento.zip" if mimetype in ZIP_TYPES else "documento.xml")[:200]
    summary = services.ingest_upload(g.integration_client, filename, data, is_zip=mimetype in ZIP_TYPES)
    body = {"results": [r.as_dict() for r in summary.results]}
    return body, (422 if summary.all_refused else 200)


@bp.get("/documents/pending")
@per_key_limit
@integration_key_required
def pending_documents():
    """Contingency notes received without their authorization yet: what the software still has to send."""
    client = g.integration_client
    items = [
        {"key": d.key, "model": d.model, "series": d.series, "number": d.number, "issued_at": iso(d.issued_at),
         "status": DocumentStatus(d.status).value, "environment": d.environment}
        for env in (1, 2) for d in services.pending_contingency([client.id], environment=env)
    ]
    return {"items": items}


# -- OpenAPI ----------------------------------------------------------------------------------------

_SECURITY = [{"integrationKey": []}]
schema("IngestResult", {
    "type": "object",
    "required": ["file", "result"],
    "properties": {
        "file": {"type": "string"},
        "key": {"type": ["string", "null"]},
        "model": {"type": ["integer", "null"], "enum": [55, 65, 57, 67, None]},
        "status": {"type": ["string", "null"], "enum": [s.value for s in DocumentStatus] + [None]},
        "direction": {"type": ["string", "null"], "enum": ["issued", "received", None]},
        "result": {"type": "string", "enum": ["created", "duplicate", "updated", "refused"]},
        "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"},
                                                              "message": {"type": "string"}}},
    },
})
_RESULTS = {"application/json": {"schema": {"type": "object", "required": ["results"], "properties": {
    "results": {"type": "array", "items": {"$ref": "#/components/schemas/IngestResult"}}}}}}
document("/api/v1/integration/documents", "post", {
    "summary": "Envia XML fiscais (NF-e, NFC-e, CT-e e eventos): um XML ou um zip",
    "description": "Cada arquivo é lido, validado (chave, partes do cliente) e guardado uma vez. "
                   "200 com o resultado de cada arquivo; 422 quando todos são recusados.",
    "operationId": "integrationPushDocuments",
    "security": _SECURITY,
    "tags": ["integração"],
    "requestBody": {"required": True, "content": {
        "application/xml": {"schema": {"type": "string"}},
        "application/zip": {"schema": {"type": "string", "format": "binary"}}}},
    "responses": {
        "200": {"description": "Resultado por arquivo", "content": _RESULTS},
        "422": {"description": "Todos os arquivos recusados", "content": _RESULTS},
        **error_responses(400, 401, 403, 413, 415, 429),
    },
})
document("/api/v1/integration/documents/pending", "get", {
    "summary": "Notas em contingência ainda sem autorização (o que falta enviar)",
    "operationId": "integrationPendingDocuments",
    "security": _SECURITY,
    "tags": ["integração"],
    "responses": {
        "200": {"description": "Notas pendentes", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}}}},
        **error_responses(401, 403, 429),
    },
})
