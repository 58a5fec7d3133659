"""Partner API v1: the catalogue's plans and the partner's clients.

The field names here are the contract integrators code against: change them only with a new
API version. The rules live in partner.services; this module maps JSON in and out."""

from flask import g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from api.common import (
    ApiError,
    bp,
    document,
    error_responses,
    iso,
    json_body,
    page_params,
    partner_token_required,
    schema,
)
from core.db import db
from core.security import parse_id
from core.validators import ValidationError
from partner import services
from partner.access import get_partner_client
from partner.models import Client, ContractStatus, Payer, Plan

ADDRESS_FIELDS = services.ADDRESS_FIELDS
#: Flat (non-address) fields a client may send.
WRITABLE_FIELDS = (
    "legal_name", "trade_name", "cnpj", "email", "phone", "software_id", "plan_id", "payer", "accountant_email",
)
READ_ONLY_FIELDS = ("id", "created_at", "status", "partner_id", "monthly_price_cents")
ID_FIELDS = ("software_id", "plan_id")
CONTRACT_FIELDS = ("software_id", "plan_id", "payer")


# -- serialisation ------------------------------------------------------------------------------


def plan_json(plan: Plan) -> dict:
    return {
        "id": plan.id,
        "name": plan.name,
        "software_id": plan.software_id,
        "price_cents": plan.price_cents,
        "is_active": plan.is_active,
    }


def client_json(client: Client) -> dict:
    return {
        "id": client.id,
        "legal_name": client.legal_name,
        "trade_name": client.trade_name,
        "cnpj": client.cnpj,
        "email": client.email,
        "phone": client.phone,
        "address": {name: getattr(client, name) for name in ADDRESS_FIELDS},
        "software_id": client.software_id,
        "plan_id": client.plan_id,
        "payer": Payer(client.payer).value,
        "status": ContractStatus(client.status).value,
        "accountant_email": client.accountant_email,
        "created_at": iso(client.created_at),
        "monthly_price_cents": services.monthly_price(client.plan, client.payer),
    }


def list_json(page) -> dict:
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


# -- input --------------------------------------------------------------------------------------


def _type_errors(data: dict, prefix: str = "") -> dict:
    """JSON types the services cannot take (they clean strings and integer ids)."""
    errors = {}
    for key, value in data.items():
        if key in ID_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int):
                errors[prefix + key] = _("Informe um número inteiro.")
        elif value is not None and not isinstance(value, str):
            errors[prefix + key] = _("Informe um texto.")
    return errors


def flatten_client_input(body: dict, *, partial: bool) -> dict:
    """API body → the flat field names of partner.services; 422 for unknown, read-only or mistyped fields."""
    errors = {}
    for key in body:
        if key in READ_ONLY_FIELDS:
            errors[key] = _("Campo somente leitura.")
        elif partial and key in CONTRACT_FIELDS:
            # plan and payer changes are contract events (history, proration): their own endpoints
            errors[key] = _("Use POST /api/v1/clients/{id}/plan ou /payer para alterar plano ou pagador.")
        elif key not in WRITABLE_FIELDS and key != "address":
            errors[key] = _("Campo desconhecido.")
    flat = {k: v for k, v in body.items() if k in WRITABLE_FIELDS}
    errors.update(_type_errors(flat))
    address = body.get("address")
    if address is None and not partial:
        address = {}
    if address is not None:
        if not isinstance(address, dict):
            errors["address"] = _("O endereço deve ser um objeto.")
        else:
            for key in address:
                if key not in ADDRESS_FIELDS:
                    errors[f"address.{key}"] = _("Campo desconhecido.")
            known = {k: v for k, v in address.items() if k in ADDRESS_FIELDS}
            errors.update(_type_errors(known, prefix="address."))
            flat.update(known)
    if errors:
        raise ApiError(422, "validation_error", _("Verifique os campos destacados."), errors)
    return flat


def api_field(name: str) -> str:
    return f"address.{name}" if name in ADDRESS_FIELDS else name


def _validation_failed(exc: ValidationError) -> ApiError:
    return ApiError(422, "validation_error", exc.message, {api_field(k): str(v) for k, v in exc.fields.items()})


def _duplicate(exc: services.DuplicateError) -> ApiError:
    return ApiError(409, "duplicate", exc.message, {api_field(exc.field): exc.message})


def _choice_param(name: str, choices, errors: dict):
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        errors[name] = _("Valor inválido. Use um de: %(choices)s.", choices=", ".join(sorted(choices)))
        return None
    return value


def _id_param(name: str, errors: dict) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    number = parse_id(value)  # digits only, and within what the database can compare
    if number is None:
        errors[name] = _("Informe um número inteiro.")
    return number


def _raise_if(errors: dict) -> None:
    if errors:
        raise ApiError(422, "invalid_parameter", _("Parâmetros de consulta inválidos."), errors)


# -- endpoints ----------------------------------------------------------------------------------


@bp.get("/plans")
@partner_token_required
def list_plans():
    """Every plan of the catalogue, active and retired."""
    errors: dict = {}
    is_active = _choice_param("is_active", {"true", "false"}, errors)
    software_id = _id_param("software_id", errors)
    _raise_if(errors)
    page, per_page = page_params()
    query = select(Plan)
    if is_active is not None:
        query = query.where(Plan.is_active.is_(is_active == "true"))
    if software_id is not None:
        query = query.where(Plan.software_id == software_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    plans = db.session.scalars(
        query.order_by(Plan.software_id, Plan.price_cents, Plan.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {"items": [plan_json(p) for p in plans], "total": total, "page": page, "per_page": per_page}


@bp.get("/clients")
@partner_token_required
def list_clients():
    """The partner's clients: the dashboard's search, filters, sorting and pagination."""
    errors: dict = {}
    params = {
        "q": request.args.get("q", ""),
        "status": _choice_param("status", {s.value for s in ContractStatus}, errors),
        "payer": _choice_param("payer", {p.value for p in Payer}, errors),
        "software_id": _id_param("software_id", errors),
        "plan_id": _id_param("plan_id", errors),
        "sort": _choice_param("sort", set(services.SORTS), errors),
    }
    if len(params["q"]) > 100:
        errors["q"] = _("Busca longa demais (máximo 100 caracteres).")
    _raise_if(errors)
    page, per_page = page_params()
    query = services.filter_clients(select(Client).where(Client.partner_id == g.partner.id), params)
    result = services.paginate(query, page=page, per_page=per_page, sort=params["sort"],
                               searching=bool(params["q"].strip()))
    result.items = [client_json(c) for c in result.items]
    return list_json(result)


@bp.post("/clients")
@partner_token_required
def create_client():
    """Register a client (its login gets the first-access e-mail)."""
    data = flatten_client_input(json_body(), partial=False)
    try:
        client = services.register_client(g.partner, data, actor=None)
    except ValidationError as exc:
        raise _validation_failed(exc) from None
    except services.DuplicateError as exc:
        raise _duplicate(exc) from None
    location = url_for("partner_api.get_client", client_id=client.id)
    return client_json(client), 201, {"Location": location}


def _load_client(client_id) -> Client:
    client = get_partner_client(g.partner.id, client_id)
    if client is None:
        raise ApiError(404, "not_found", _("Cliente não encontrado."))
    return client


@bp.get("/clients/<client_id>")
@partner_token_required
def get_client(client_id):
    """One of the partner's clients."""
    return client_json(_load_client(client_id))


@bp.patch("/clients/<client_id>")
@partner_token_required
def update_client(client_id):
    """Change the given fields; the others stay as they are."""
    client = _load_client(client_id)
    data = flatten_client_input(json_body(), partial=True)
    try:
        services.update_client(client, data, actor=None)
    except ValidationError as exc:
        raise _validation_failed(exc) from None
    except services.DuplicateError as exc:
        raise _duplicate(exc) from None
    return client_json(client)


# -- OpenAPI ------------------------------------------------------------------------------------

_ADDRESS_SCHEMA = {
    "type": "object",
    "properties": {
        "cep": {"type": "string", "description": "8 dígitos", "examples": ["01310100"]},
        "street": {"type": "string", "maxLength": 200},
        "number": {"type": "string", "maxLength": 20},
        "complement": {"type": "string", "maxLength": 100},
        "district": {"type": "string", "maxLength": 100},
        "city": {"type": "string", "maxLength": 100},
        "state": {"type": "string", "minLength": 2, "maxLength": 2, "examples": ["SP"]},
    },
}
_INPUT_PROPERTIES = {
    "legal_name": {"type": "string", "maxLength": 200},
    "trade_name": {"type": ["string", "null"], "maxLength": 200},
    "cnpj": {"type": "string", "description": "14 caracteres, numérico ou alfanumérico (pontuação aceita)",
             "examples": ["11222333000181", "12ABC34501DE35"]},
    "email": {"type": "string", "format": "email", "maxLength": 254, "description": "Login do cliente; único"},
    "phone": {"type": ["string", "null"], "description": "DDD e número"},
    "address": {"$ref": "#/components/schemas/Address"},
    "software_id": {"type": "integer"},
    "plan_id": {"type": "integer", "description": "Plano ativo do software"},
    "payer": {"type": "string", "enum": [p.value for p in Payer]},
    "accountant_email": {"type": ["string", "null"], "format": "email"},
}

schema("Address", _ADDRESS_SCHEMA)
schema("Plan", {
    "type": "object",
    "required": ["id", "name", "software_id", "price_cents", "is_active"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "software_id": {"type": "integer"},
        "price_cents": {"type": "integer", "minimum": 0, "description": "Preço mensal de tabela em centavos"},
        "is_active": {"type": "boolean"},
    },
})
schema("ClientInput", {
    "type": "object",
    "additionalProperties": False,
    "required": ["legal_name", "cnpj", "email", "address", "software_id", "plan_id", "payer"],
    "properties": _INPUT_PROPERTIES,
})
schema("Client", {
    "type": "object",
    "required": ["id", "legal_name", "trade_name", "cnpj", "email", "phone", "address", "software_id",
                 "plan_id", "payer", "status", "accountant_email", "created_at", "monthly_price_cents"],
    "properties": {
        "id": {"type": "integer"},
        **_INPUT_PROPERTIES,
        "status": {"type": "string", "enum": [s.value for s in ContractStatus]},
        "created_at": {"type": "string", "format": "date-time"},
        "monthly_price_cents": {"type": "integer", "readOnly": True,
                                "description": "O que o pagador paga por mês (50% quando a revenda paga)"},
    },
})
for _name, _item in (("ClientList", "Client"), ("PlanList", "Plan")):
    schema(_name, {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{_item}"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    })


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _query(name: str, schema_: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema_, "description": description}


_PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Página"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "Itens por página"),
]
_CLIENT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_SECURITY = [{"partnerToken": []}]

document("/api/v1/plans", "get", {
    "summary": "Listar planos (ativos e retirados)",
    "operationId": "listPlans",
    "security": _SECURITY,
    "parameters": [
        _query("is_active", {"type": "string", "enum": ["true", "false"]}, "Filtrar por situação"),
        _query("software_id", {"type": "integer"}, "Filtrar por software"),
        *_PAGING,
    ],
    "responses": {"200": _json("PlanList", "Planos"), **error_responses(401, 422, 429)},
})
document("/api/v1/clients", "get", {
    "summary": "Listar clientes da revenda",
    "operationId": "listClients",
    "security": _SECURITY,
    "parameters": [
        _query("q", {"type": "string", "maxLength": 100}, "Busca: razão social, fantasia, CNPJ (com ou sem pontuação), e-mail"),
        _query("status", {"type": "string", "enum": [s.value for s in ContractStatus]}, "Status"),
        _query("software_id", {"type": "integer"}, "Software"),
        _query("plan_id", {"type": "integer"}, "Plano"),
        _query("payer", {"type": "string", "enum": [p.value for p in Payer]}, "Pagador"),
        _query("sort", {"type": "string", "enum": list(services.SORTS)}, "Ordenação (padrão: name)"),
        *_PAGING,
    ],
    "responses": {"200": _json("ClientList", "Clientes"), **error_responses(401, 422, 429)},
})
document("/api/v1/clients", "post", {
    "summary": "Cadastrar cliente",
    "operationId": "createClient",
    "security": _SECURITY,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClientInput"}}}},
    "responses": {
        "201": {**_json("Client", "Cliente criado"),
                "headers": {"Location": {"schema": {"type": "string"}, "description": "URL do cliente"}}},
        **error_responses(401, 409, 413, 422, 429),
    },
})
document("/api/v1/clients/{id}", "get", {
    "summary": "Consultar cliente",
    "operationId": "getClient",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "responses": {"200": _json("Client", "Cliente"), **error_responses(401, 404, 429)},
})
document("/api/v1/clients/{id}", "patch", {
    "summary": "Alterar cliente (só os campos enviados)",
    "operationId": "updateClient",
    "security": _SECURITY,
    "parameters": [_CLIENT_ID],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "properties": _INPUT_PROPERTIES,
        "description": "Qualquer subconjunto de ClientInput; address aceita só as chaves alteradas",
    }}}},
    "responses": {"200": _json("Client", "Cliente alterado"), **error_responses(401, 404, 409, 413, 422, 429)},
})
document("/api/v1/openapi.json", "get", {
    "summary": "Este documento OpenAPI",
    "operationId": "openapi",
    "security": [],
    "responses": {"200": {"description": "Documento OpenAPI 3.1", "content": {"application/json": {}}}},
})
