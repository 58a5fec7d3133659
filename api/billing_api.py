"""Partner API v1: invoices.

Scope (a decision, documented in the OpenAPI text too): a partner sees its own consolidated
invoices (``payer`` = ``partner``) **and** the invoices of its clients that pay for themselves
(``payer`` = ``client``), since it sells and supports those contracts; another partner's invoice
is a 404. Drafts are never listed."""

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from api.common import ApiError, bp, document, error_responses, iso, page_params, partner_token_required, schema
from billing import services
from billing.errors import BillingError
from billing.models import Invoice, InvoiceStatus
from billing.run import Month
from core.db import db
from core.security import parse_id
from core.validators import ValidationError
from partner.models import Payer

STATUSES = ("pending", "overdue", "paid", "void", "uncollectible")


def line_json(line) -> dict:
    return {
        "client_id": line.client_id,
        "plan_id": line.plan_id,
        "kind": line.kind.value if hasattr(line.kind, "value") else line.kind,
        "description": line.description,
        "list_price_cents": line.list_price_cents,
        "discount_cents": line.discount_cents,
        "amount_cents": line.amount_cents,
        "period_start": iso(line.period_start),
        "period_end": iso(line.period_end),
    }


def invoice_json(invoice: Invoice, *, with_lines: bool = True) -> dict:
    data = {
        "id": invoice.id,
        "number": invoice.number,
        "status": InvoiceStatus(invoice.status).value,
        "display_status": services.display_status(invoice),
        "payer": Payer(invoice.payer).value,
        "partner_id": invoice.partner_id,
        "client_id": invoice.client_id,
        "month": invoice.month,
        "due_date": iso(invoice.due_date),
        "total_cents": invoice.total_cents,
        "issued_at": iso(invoice.issued_at),
        "paid_at": iso(invoice.paid_at),
    }
    if with_lines:
        data["lines"] = [line_json(line) for line in invoice.lines]
    return data


def boleto_json(boleto) -> dict:
    return {
        "invoice_id": boleto.invoice_id,
        "payment_intent_id": boleto.payment_intent_id,
        "number": boleto.number,
        "amount_cents": boleto.amount_cents,
        "pdf_url": boleto.pdf_url,
        "hosted_url": boleto.hosted_url,
        "expires_at": iso(boleto.expires_at),
    }


def _load_invoice(invoice_id) -> Invoice:
    invoice_id = parse_id(invoice_id)
    invoice = db.session.scalar(
        services.partner_api_invoices(g.partner.id).where(Invoice.id == invoice_id)
    ) if invoice_id else None
    if invoice is None:
        raise ApiError(404, "not_found", _("Fatura não encontrada."))
    return invoice


def _filters(query):
    errors = {}
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        errors["status"] = _("Valor inválido. Use um de: %(c)s.", c=", ".join(STATUSES))
    payer = request.args.get("payer") or None
    if payer and payer not in {p.value for p in Payer}:
        errors["payer"] = _("Valor inválido. Use partner ou client.")
    month = request.args.get("month") or None
    if month:
        try:
            Month.parse(month)
        except ValidationError as exc:
            errors["month"] = exc.fields["month"]
    client_id = request.args.get("client_id") or None
    if client_id and parse_id(client_id) is None:
        errors["client_id"] = _("Informe um número inteiro.")
    if errors:
        raise ApiError(422, "invalid_parameter", _("Parâmetros de consulta inválidos."), errors)
    today = services.local_today()
    if status == "pending":
        query = query.where(Invoice.status == InvoiceStatus.OPEN, Invoice.due_date >= today)
    elif status == "overdue":
        query = query.where(Invoice.status == InvoiceStatus.OPEN, Invoice.due_date < today)
    elif status:
        query = query.where(Invoice.status == status)
    if payer:
        query = query.where(Invoice.payer == payer)
    if month:
        query = query.where(Invoice.month == month)
    if client_id:
        query = query.where(Invoice.client_id == int(client_id))
    return query


@bp.get("/invoices")
@partner_token_required
def list_invoices():
    """The partner's invoices and its self-paying clients' invoices, newest month first."""
    query = _filters(services.partner_api_invoices(g.partner.id))
    page, per_page = page_params()
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    invoices = db.session.scalars(
        query.order_by(Invoice.month.desc(), Invoice.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {"items": [invoice_json(i) for i in invoices], "total": total, "page": page, "per_page": per_page}


@bp.get("/invoices/<invoice_id>")
@partner_token_required
def get_invoice(invoice_id):
    """One invoice with its lines."""
    return invoice_json(_load_invoice(invoice_id))


@bp.get("/invoices/<invoice_id>/pdf")
@partner_token_required
def get_invoice_pdf(invoice_id):
    """The invoice PDF (Portuguese)."""
    from billing.views import pdf_response

    return pdf_response(_load_invoice(invoice_id))


@bp.post("/invoices/<invoice_id>/boleto")
@partner_token_required
def create_boleto(invoice_id):
    """"Gerar boleto": the invoice's valid boleto, or a new one (201) after the last expired."""
    invoice = _load_invoice(invoice_id)
    before = services.current_boleto(invoice)
    try:
        boleto = services.generate_boleto(invoice)
    except BillingError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return boleto_json(boleto), (200 if before is not None and before.id == boleto.id else 201)


# -- OpenAPI ------------------------------------------------------------------------------------

_LINE = {
    "type": "object",
    "required": ["client_id", "plan_id", "description", "list_price_cents", "discount_cents", "amount_cents",
                 "period_start", "period_end"],
    "properties": {
        "client_id": {"type": ["integer", "null"]},
        "plan_id": {"type": ["integer", "null"]},
        "kind": {"type": "string", "enum": ["charge", "credit"],
                 "description": "credit: valores negativos (mudança de plano para um mais barato)"},
        "description": {"type": "string"},
        "list_price_cents": {"type": "integer", "description": "Preço de tabela do período (centavos)"},
        "discount_cents": {"type": "integer", "description": "Desconto de 50% quando a revenda paga"},
        "amount_cents": {"type": "integer", "description": "list_price_cents - discount_cents"},
        "period_start": {"type": "string", "format": "date"},
        "period_end": {"type": "string", "format": "date"},
    },
}
schema("InvoiceLine", _LINE)
schema("Invoice", {
    "type": "object",
    "required": ["id", "number", "status", "payer", "partner_id", "client_id", "month", "due_date",
                 "total_cents", "lines"],
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string", "examples": ["2025-000123"], "description": "AAAA-NNNNNN, sequencial no ano"},
        "status": {"type": "string", "enum": ["open", "paid", "void", "uncollectible"]},
        "display_status": {"type": "string", "enum": list(STATUSES),
                           "description": "open se divide em pending e overdue (vencida)"},
        "payer": {"type": "string", "enum": ["partner", "client"]},
        "partner_id": {"type": "integer"},
        "client_id": {"type": ["integer", "null"], "description": "null quando a revenda paga (fatura consolidada)"},
        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
        "due_date": {"type": "string", "format": "date"},
        "total_cents": {"type": "integer", "minimum": 0},
        "issued_at": {"type": ["string", "null"], "format": "date-time"},
        "paid_at": {"type": ["string", "null"], "format": "date-time"},
        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/InvoiceLine"}},
    },
})
schema("InvoiceList", {
    "type": "object",
    "required": ["items", "total", "page", "per_page"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
    },
})
schema("Boleto", {
    "type": "object",
    "required": ["invoice_id", "number", "amount_cents", "expires_at"],
    "properties": {
        "invoice_id": {"type": "integer"},
        "payment_intent_id": {"type": "string"},
        "number": {"type": "string", "description": "Linha digitável"},
        "amount_cents": {"type": "integer"},
        "pdf_url": {"type": ["string", "null"]},
        "hosted_url": {"type": ["string", "null"]},
        "expires_at": {"type": "string", "format": "date-time"},
    },
})


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _query(name: str, schema_: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema_, "description": description}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_SECURITY = [{"partnerToken": []}]
_SCOPE = ("A revenda vê as próprias faturas consolidadas (payer=partner) e as faturas dos seus clientes que "
          "pagam a própria mensalidade (payer=client). Fatura de outra revenda: 404.")

document("/api/v1/invoices", "get", {
    "summary": "Listar faturas",
    "description": _SCOPE,
    "operationId": "listInvoices",
    "security": _SECURITY,
    "parameters": [
        _query("status", {"type": "string", "enum": list(STATUSES)}, "Situação"),
        _query("payer", {"type": "string", "enum": ["partner", "client"]}, "Pagador"),
        _query("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "Mês de referência"),
        _query("client_id", {"type": "integer"}, "Faturas do cliente (que paga a própria mensalidade)"),
        _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Página"),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "Itens por página"),
    ],
    "responses": {"200": _json("InvoiceList", "Faturas"), **error_responses(401, 422, 429)},
})
document("/api/v1/invoices/{id}", "get", {
    "summary": "Consultar fatura (com linhas)",
    "description": _SCOPE,
    "operationId": "getInvoice",
    "security": _SECURITY,
    "parameters": [_ID],
    "responses": {"200": _json("Invoice", "Fatura"), **error_responses(401, 404, 429)},
})
document("/api/v1/invoices/{id}/pdf", "get", {
    "summary": "PDF da fatura",
    "operationId": "getInvoicePdf",
    "security": _SECURITY,
    "parameters": [_ID],
    "responses": {"200": {"description": "PDF", "content": {"application/pdf": {}}}, **error_responses(401, 404, 429)},
})
document("/api/v1/invoices/{id}/boleto", "post", {
    "summary": "Gerar boleto",
    "description": "Devolve o boleto válido da fatura (200) ou gera um novo (201) se não houver ou se o último venceu. "
                   "409 se a fatura não está pendente; 503 se os pagamentos online não estão configurados.",
    "operationId": "createInvoiceBoleto",
    "security": _SECURITY,
    "parameters": [_ID],
    "responses": {"200": _json("Boleto", "Boleto vigente"), "201": _json("Boleto", "Boleto gerado"),
                  **error_responses(401, 404, 409, 422, 429),
                  "503": {"description": "Pagamentos online indisponíveis",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
})
