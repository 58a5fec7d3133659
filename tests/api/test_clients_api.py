"""Partner API v1: plans and clients — fields, scoping, errors, nothing saved on bad input."""

import re

import pytest
from sqlalchemy import func, select
from stdnum.br import cnpj as stdnum_cnpj

from accounts.models import User
from core.audit import AuditEvent
from core.mail import OutboxEmail
from core.permissions import Role
from partner.models import ApiToken, Client, ContractStatus, Payer
from partner.services import create_api_token, revoke_api_token
from tests.factories import ClientFactory, PlanFactory, UserFactory

CLIENT_KEYS = {
    "id", "legal_name", "trade_name", "cnpj", "email", "phone", "address", "software_id", "plan_id", "payer",
    "status", "accountant_email", "created_at", "monthly_price_cents",
}
ADDRESS_KEYS = {"cep", "street", "number", "complement", "district", "city", "state"}


def count(model) -> int:
    from core.db import db

    return db.session.scalar(select(func.count()).select_from(model))


def new_cnpj(n: int = 1) -> str:
    base = f"{98765400 + n:08d}0001"
    return base + stdnum_cnpj.calc_check_digits(base)


@pytest.fixture
def body(plan):
    def make(**overrides):
        data = {
            "legal_name": "Empresa Nova Comércio Ltda",
            "trade_name": "Empresa Nova",
            "cnpj": new_cnpj(),
            "email": "financeiro@empresanova.example",
            "phone": "(11) 98765-4321",
            "address": {
                "cep": "01310-100", "street": "Av. Paulista", "number": "1578", "complement": "Sala 4",
                "district": "Bela Vista", "city": "São Paulo", "state": "SP",
            },
            "software_id": plan.software_id,
            "plan_id": plan.id,
            "payer": "client",
            "accountant_email": None,
        }
        data.update(overrides)
        return data

    return make


# -- plans --------------------------------------------------------------------------------------


def test_plans_lists_active_and_retired_with_the_contract_fields(db, api, plan):
    retired = PlanFactory(software=plan.software, name="Bronze antigo", price_cents=3990, is_active=False)
    db.session.commit()
    response = api.get("/api/v1/plans")
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"items", "total", "page", "per_page"}
    by_id = {p["id"]: p for p in data["items"]}
    assert by_id[plan.id] == {
        "id": plan.id, "name": "Ouro", "software_id": plan.software_id, "price_cents": 11990, "is_active": True,
    }
    assert by_id[retired.id]["is_active"] is False
    assert data["total"] >= 2


def test_plans_filters(db, api, plan):
    retired = PlanFactory(software=plan.software, name="Retirado", is_active=False)
    elsewhere = PlanFactory(name="Outro software")
    db.session.commit()
    ids = lambda r: {p["id"] for p in r.get_json()["items"]}  # noqa: E731
    retired_only = api.get("/api/v1/plans?is_active=false&per_page=100")
    assert retired.id in ids(retired_only) and plan.id not in ids(retired_only)
    active_only = api.get("/api/v1/plans?is_active=true&per_page=100")
    assert plan.id in ids(active_only) and retired.id not in ids(active_only)
    of_software = api.get(f"/api/v1/plans?software_id={plan.software_id}")
    assert ids(of_software) == {plan.id, retired.id}
    assert elsewhere.id not in ids(of_software)


@pytest.mark.parametrize("query, field", [("is_active=sim", "is_active"), ("software_id=abc", "software_id"),
                                          ("page=x", None), ("page=100000000000000000000", "page")])
def test_plans_invalid_filters_are_422(api, query, field):
    response = api.get(f"/api/v1/plans?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"]
    if field:
        assert field in error["fields"]


# -- listing clients ----------------------------------------------------------------------------


def test_clients_pagination_totals_and_scope(db, api, partner, other_partner, plan):
    ClientFactory.create_batch(23, partner=partner, plan=plan)
    ClientFactory.create_batch(4, partner=other_partner, plan=plan)
    db.session.commit()
    first = api.get("/api/v1/clients?per_page=10").get_json()
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (23, 1, 10, 10)
    third = api.get("/api/v1/clients?per_page=10&page=3").get_json()
    assert (third["total"], third["page"], len(third["items"])) == (23, 3, 3)
    beyond = api.get("/api/v1/clients?per_page=10&page=4").get_json()
    assert beyond["items"] == [] and beyond["total"] == 23
    capped = api.get("/api/v1/clients?per_page=5000").get_json()
    assert capped["per_page"] == 100 and len(capped["items"]) == 23
    seen = {c["id"] for page in (1, 2, 3) for c in api.get(f"/api/v1/clients?per_page=10&page={page}").get_json()["items"]}
    partner_ids = set(db.session.scalars(select(Client.id).where(Client.partner_id == partner.id)))
    assert seen == partner_ids  # every client exactly once across pages, none of the other partner's


def test_client_representation(db, api, client_row):
    db.session.commit()
    item = api.get("/api/v1/clients").get_json()["items"][0]
    assert set(item) == CLIENT_KEYS
    assert set(item["address"]) == ADDRESS_KEYS
    assert item["id"] == client_row.id
    assert item["cnpj"] == client_row.cnpj
    assert item["payer"] == "client" and item["status"] == "active"
    assert item["address"]["cep"] == "01001000" and item["address"]["state"] == "SP"
    assert item["accountant_email"] == "contador@contabil.example"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)", item["created_at"])
    assert item["monthly_price_cents"] == 11990


def test_search_by_cnpj_digits_and_formatted(db, api, partner, plan):
    target = ClientFactory(partner=partner, plan=plan, cnpj="34028316000103", legal_name="Padaria Alvo Ltda")
    ClientFactory.create_batch(5, partner=partner, plan=plan)
    db.session.commit()
    for q in ("34028316000103", "34.028.316/0001-03", "028316"):
        found = api.get("/api/v1/clients", query_string={"q": q}).get_json()
        assert [c["id"] for c in found["items"]] == [target.id], q
    by_name = api.get("/api/v1/clients", query_string={"q": "padaria alvo"}).get_json()
    assert [c["id"] for c in by_name["items"]] == [target.id]
    by_email = api.get("/api/v1/clients", query_string={"q": target.email.upper()}).get_json()
    assert [c["id"] for c in by_email["items"]] == [target.id]


def test_search_wildcards_are_literal(db, api, partner, plan):
    ClientFactory.create_batch(3, partner=partner, plan=plan)
    db.session.commit()
    assert api.get("/api/v1/clients", query_string={"q": "%"}).get_json()["total"] == 0
    assert api.get("/api/v1/clients", query_string={"q": "_"}).get_json()["total"] == 0


def test_filters_status_payer_plan_and_sort(db, api, partner, plan):
    other_plan = PlanFactory(software=plan.software, name="Prata", price_cents=7990)
    blocked = ClientFactory(partner=partner, plan=plan, status=ContractStatus.BLOCKED, legal_name="B Ltda")
    trial = ClientFactory(partner=partner, plan=other_plan, status=ContractStatus.TRIAL, payer=Payer.PARTNER,
                          legal_name="A Ltda")
    active = ClientFactory(partner=partner, plan=plan, legal_name="C Ltda")
    db.session.commit()
    ids = lambda **q: [c["id"] for c in api.get("/api/v1/clients", query_string=q).get_json()["items"]]  # noqa: E731
    assert ids(status="blocked") == [blocked.id]
    assert ids(status="trial") == [trial.id]
    assert ids(payer="partner") == [trial.id]
    assert ids(plan_id=other_plan.id) == [trial.id]
    assert ids(software_id=plan.software_id) == [trial.id, blocked.id, active.id]
    assert ids(sort="-name") == [active.id, blocked.id, trial.id]


@pytest.mark.parametrize("query, field", [
    ({"status": "ativo"}, "status"), ({"payer": "ninguem"}, "payer"), ({"software_id": "x"}, "software_id"),
    ({"plan_id": "-1"}, "plan_id"), ({"sort": "cnpj"}, "sort"), ({"q": "x" * 101}, "q"),
    ({"page": str(10**20)}, "page"),
])
def test_invalid_filters_are_422_naming_the_field(api, query, field):
    response = api.get("/api/v1/clients", query_string=query)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [field]


# -- creating clients ---------------------------------------------------------------------------


def test_create_client(db, api, partner, body, inbox, deliver_mail):
    clients, users = count(Client), count(User)
    response = api.post("/api/v1/clients", json=body(payer="partner", accountant_email="Contador@Contabil.example"))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert set(data) == CLIENT_KEYS
    assert data["cnpj"] == new_cnpj() and data["phone"] == "11987654321"
    assert data["address"] == {"cep": "01310100", "street": "Av. Paulista", "number": "1578", "complement": "Sala 4",
                               "district": "Bela Vista", "city": "São Paulo", "state": "SP"}
    assert data["accountant_email"] == "contador@contabil.example"
    assert data["payer"] == "partner"
    assert data["monthly_price_cents"] == 5995  # 50% of 119,90 when the partner pays
    assert response.headers["Location"].endswith(f"/api/v1/clients/{data['id']}")
    assert (count(Client), count(User)) == (clients + 1, users + 2)  # the client's login and the named accountant's

    again = api.get(response.headers["Location"])
    assert again.status_code == 200 and again.get_json() == data
    saved = db.session.get(Client, data["id"])
    assert saved.partner_id == partner.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.created",
                                                      AuditEvent.client_id == saved.id))
    assert event is not None and event.actor_label.startswith("api:rvp_")
    deliver_mail()
    inbox.wait_for(1)
    [welcome] = inbox.to("financeiro@empresanova.example")  # one e-mail: acceptance and first access
    assert "/primeiro-acesso/" in welcome.get_body(("plain",)).get_content()


def test_client_payer_pays_full_price(api, body):
    response = api.post("/api/v1/clients", json=body(payer="client"))
    assert response.status_code == 201
    assert response.get_json()["monthly_price_cents"] == 11990


def test_alphanumeric_cnpj_is_accepted(api, body):
    response = api.post("/api/v1/clients", json=body(cnpj="12.ABC.345/01DE-35"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["cnpj"] == "12ABC34501DE35"
    found = api.get("/api/v1/clients", query_string={"q": "12abc345"}).get_json()
    assert [c["cnpj"] for c in found["items"]] == ["12ABC34501DE35"]


def test_invalid_cnpj_check_digit_is_rejected_with_the_message(api, body):
    before = count(Client)
    response = api.post("/api/v1/clients", json=body(cnpj="11.222.333/0001-82"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == {"cnpj": "CNPJ inválido: confira os dígitos verificadores."}
    assert count(Client) == before


def test_every_invalid_field_is_reported_with_api_names(api, body):
    before, outbox = count(Client), count(OutboxEmail)
    bad = body(legal_name="", email="não é e-mail", phone="123",
               address={"cep": "123", "street": "", "number": "1", "district": "Centro", "city": "X", "state": "ZZ"},
               payer="ninguém")
    response = api.post("/api/v1/clients", json=bad)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"legal_name", "email", "phone", "address.cep", "address.street", "address.state", "payer"}
    assert "CEP inválido" in fields["address.cep"]
    assert (count(Client), count(OutboxEmail)) == (before, outbox)


def test_missing_fields(api):
    before = count(Client)
    response = api.post("/api/v1/clients", json={})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    for name in ("legal_name", "cnpj", "email", "software_id", "plan_id", "payer", "address.cep", "address.city"):
        assert name in fields, name
    assert count(Client) == before


@pytest.mark.parametrize("field, value", [
    ("legal_name", "x" * 5000), ("trade_name", "x" * 201), ("email", "a" * 5000 + "@example.com"),
    ("cnpj", "1" * 5000), ("accountant_email", "b" * 300 + "@example.com"),
])
def test_oversized_strings_are_422(api, body, field, value):
    before = count(Client)
    response = api.post("/api/v1/clients", json=body(**{field: value}))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(Client) == before


def test_oversized_address_field(api, body):
    address = body()["address"] | {"street": "r" * 201}
    response = api.post("/api/v1/clients", json=body(address=address))
    assert response.status_code == 422
    assert "máximo de 200" in response.get_json()["error"]["fields"]["address.street"]


def test_body_over_64kb_is_413(api, body):
    before = count(Client)
    response = api.post("/api/v1/clients", json=body(trade_name="x" * 70_000))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert count(Client) == before


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"texto"', ""])
def test_malformed_json_is_422(api, raw):
    response = api.post("/api/v1/clients", data=raw, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("overrides, field", [
    ({"cnpj": 11222333000181}, "cnpj"), ({"plan_id": "1"}, "plan_id"), ({"software_id": True}, "software_id"),
    ({"address": "Rua X"}, "address"), ({"legal_name": ["a"]}, "legal_name"),
    ({"id": 5}, "id"), ({"status": "active"}, "status"), ({"partner_id": 1}, "partner_id"),
    ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"), ({"nickname": "x"}, "nickname"),
])
def test_wrong_types_unknown_and_read_only_fields_are_422(api, body, overrides, field):
    before = count(Client)
    response = api.post("/api/v1/clients", json=body(**overrides))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(Client) == before


def test_plan_must_be_active_and_of_the_software(db, api, body, plan):
    retired = PlanFactory(software=plan.software, name="Velho", is_active=False)
    foreign = PlanFactory(name="De outro software")
    db.session.commit()
    before = count(Client)
    for plan_id in (retired.id, foreign.id, 999_999):
        response = api.post("/api/v1/clients", json=body(plan_id=plan_id))
        assert response.status_code == 422
        assert "plan_id" in response.get_json()["error"]["fields"]
    assert count(Client) == before


@pytest.mark.parametrize("taken_by", ["client", "manager", "staff"])
def test_duplicate_email_is_409_and_nothing_saved(db, api, body, partner, plan, taken_by):
    email = "ocupado@empresa.example"
    if taken_by == "client":
        ClientFactory(partner=partner, plan=plan, email=email)
    elif taken_by == "manager":
        UserFactory(role=Role.MANAGER, partner=partner, email=email)
    else:
        UserFactory(role=Role.ADMIN, email=email)
    db.session.commit()
    clients, users, outbox = count(Client), count(User), count(OutboxEmail)
    response = api.post("/api/v1/clients", json=body(email="Ocupado@Empresa.example"))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "duplicate" and "email" in error["fields"]
    assert (count(Client), count(User), count(OutboxEmail)) == (clients, users, outbox)


def test_duplicate_cnpj_is_409_per_partner(db, api, body, partner, other_partner, plan):
    ClientFactory(partner=partner, plan=plan, cnpj=new_cnpj(7))
    ClientFactory(partner=other_partner, plan=plan, cnpj=new_cnpj(8))
    db.session.commit()
    before = count(Client)
    response = api.post("/api/v1/clients", json=body(cnpj=new_cnpj(7)))
    assert response.status_code == 409
    assert "cnpj" in response.get_json()["error"]["fields"]
    assert count(Client) == before
    # the same company may be a client of another partner
    assert api.post("/api/v1/clients", json=body(cnpj=new_cnpj(8))).status_code == 201


# -- one client -------------------------------------------------------------------------------------


def test_get_and_patch_client(db, api, client_row):
    db.session.commit()
    response = api.patch(f"/api/v1/clients/{client_row.id}",
                         json={"trade_name": "Novo Nome", "address": {"city": "Campinas"}, "phone": None})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["trade_name"] == "Novo Nome" and data["phone"] == ""
    assert data["address"]["city"] == "Campinas" and data["address"]["street"] == "Praça da Sé"
    assert data["legal_name"] == client_row.legal_name
    assert api.get(f"/api/v1/clients/{client_row.id}").get_json() == data
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "client.updated",
                                                      AuditEvent.client_id == client_row.id))
    assert event.after == {"trade_name": "Novo Nome", "phone": "", "city": "Campinas"}


def test_patch_email_asks_the_login_to_follow(db, api, client_row, client_user):
    """The login moves only when the new address confirms (tests/partner/test_client_takeover.py)."""
    db.session.commit()
    old = client_user.email
    response = api.patch(f"/api/v1/clients/{client_row.id}", json={"email": "novo@cliente.example"})
    assert response.status_code == 200
    db.session.refresh(client_user)
    assert client_user.email == old
    kinds = {(m.to, m.kind) for m in db.session.scalars(select(OutboxEmail))}
    assert {("novo@cliente.example", "email_change_confirm"), (old, "email_change_notice")} <= kinds


@pytest.mark.parametrize("patch, field", [
    ({"id": 1}, "id"), ({"status": "cancelled"}, "status"), ({"created_at": "2020-01-01"}, "created_at"),
    ({"partner_id": 2}, "partner_id"), ({"monthly_price_cents": 1}, "monthly_price_cents"),
    ({"color": "blue"}, "color"), ({"address": {"country": "BR"}}, "address.country"),
    ({"cnpj": "00.000.000/0000-01"}, "cnpj"), ({"legal_name": "y" * 201}, "legal_name"),
    ({"email": None}, "email"), ({"address": {"cep": "1"}}, "address.cep"),
    ({"plan_id": 1}, "plan_id"), ({"payer": "partner"}, "payer"), ({"software_id": 1}, "software_id"),
])
def test_patch_rejects_read_only_unknown_and_invalid_fields(db, api, client_row, patch, field):
    db.session.commit()
    before = (client_row.legal_name, client_row.status, client_row.cep, client_row.cnpj, client_row.email)
    response = api.patch(f"/api/v1/clients/{client_row.id}", json=patch | {"trade_name": "Não deve salvar"})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert client_row.trade_name != "Não deve salvar"
    assert (client_row.legal_name, client_row.status, client_row.cep, client_row.cnpj, client_row.email) == before


def test_patch_points_plan_and_payer_changes_to_the_contract_endpoints(db, api, client_row):
    db.session.commit()
    response = api.patch(f"/api/v1/clients/{client_row.id}", json={"plan_id": client_row.plan_id})
    assert response.status_code == 422
    assert "/plan" in response.get_json()["error"]["fields"]["plan_id"]


def test_patch_duplicate_email_is_409(db, api, partner, plan, client_row):
    other = ClientFactory(partner=partner, plan=plan)
    db.session.commit()
    response = api.patch(f"/api/v1/clients/{client_row.id}", json={"email": other.email})
    assert response.status_code == 409
    db.session.expire_all()
    assert client_row.email != other.email


def test_other_partners_client_is_404_and_unchanged(db, api, other_client):
    db.session.commit()
    name = other_client.legal_name
    assert api.get(f"/api/v1/clients/{other_client.id}").status_code == 404
    response = api.patch(f"/api/v1/clients/{other_client.id}", json={"legal_name": "Sequestrado Ltda"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    db.session.expire_all()
    assert other_client.legal_name == name
    listed = api.get("/api/v1/clients", query_string={"q": other_client.cnpj}).get_json()
    assert listed["total"] == 0


@pytest.mark.parametrize("client_id", ["abc", "1.5", "99999999", "0"])
def test_unknown_or_non_integer_id_is_404(api, client_id):
    response = api.get(f"/api/v1/clients/{client_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# -- authentication, rate limit -----------------------------------------------------------------

ENDPOINTS = [("get", "/api/v1/plans"), ("get", "/api/v1/clients"), ("post", "/api/v1/clients"),
             ("get", "/api/v1/clients/{id}"), ("patch", "/api/v1/clients/{id}")]


@pytest.mark.parametrize("method, url", ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer rvp_not-a-real-token",
                                    "Bearer not-even-the-prefix", "Token {token}", "{token}"])
def test_without_a_valid_token_is_401(db, client, api_token, client_row, method, url, header):
    db.session.commit()
    before = count(Client)
    headers = {"Authorization": header.format(token=api_token)} if header else {}
    response = getattr(client, method)(url.format(id=client_row.id), headers=headers, json={"legal_name": "X"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert count(Client) == before


def test_revoked_token_is_401(db, api, partner, client_row):
    db.session.commit()
    assert api.get("/api/v1/clients").status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.partner_id == partner.id))
    revoke_api_token(token)
    db.session.commit()
    assert api.get("/api/v1/clients").status_code == 401
    assert api.get(f"/api/v1/clients/{client_row.id}").status_code == 401


def test_inactive_partner_token_is_401(db, api, partner):
    partner.is_active = False
    db.session.commit()
    assert api.get("/api/v1/plans").status_code == 401


def test_last_used_at_is_recorded(db, api, partner):
    token = db.session.scalar(select(ApiToken).where(ApiToken.partner_id == partner.id))
    assert token.last_used_at is None
    assert api.get("/api/v1/plans").status_code == 200
    db.session.expire_all()
    assert token.last_used_at is not None


def test_rate_limit_per_token(app, db, client, api, partner):
    _other, second_token = create_api_token(partner, "Segundo")
    db.session.commit()
    previous = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [api.get("/api/v1/plans").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = api.get("/api/v1/clients")  # one budget for the whole API
        assert limited.status_code == 429
        assert limited.get_json()["error"]["code"] == "rate_limited"
        other = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {second_token}"})
        assert other.status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = previous


# -- OpenAPI ------------------------------------------------------------------------------------


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", path))


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_is_valid_and_complete(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemas = doc["components"]["schemas"]
    for name in ("Plan", "Client", "ClientInput", "ClientList", "PlanList", "Error"):
        assert name in schemas, name
    assert set(schemas["Client"]["required"]) >= CLIENT_KEYS - {"monthly_price_cents"}
    assert set(schemas["Plan"]["properties"]) == {"id", "name", "software_id", "price_cents", "is_active"}
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    for path, operations in doc["paths"].items():
        assert path.startswith("/"), path
        templated = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in operations.items():
            assert method in methods, (path, method)
            assert operation["responses"], (path, method)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, (path, method)

    documented = {(_normalise(path), method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (_normalise(rule.rule), method) in documented, f"{method} {rule.rule} is not in openapi.json"
