"""The orders API: catalogue, ordering (201 with id, status, amount, renews_at), 422 naming each bad
field (nothing saved), cancellation with credit back, storage prorated, the ledger, the OpenAPI paths."""

import pytest
from sqlalchemy import func, select

from contracts.models import AcceptanceChannel
from contracts.services import accept_terms
from orders import services
from orders.models import Order
from partner.services import create_api_token
from tests.factories import ApiClient


@pytest.fixture
def api(client, partner, db):
    _token, plaintext = create_api_token(partner, "Pedidos")
    db.session.commit()
    return ApiClient(client, plaintext)


def _body(client_row, service, **overrides):
    body = {"client_id": client_row.id, "service_id": service.id, "term_months": 12, "starter_kit_gb": 5,
            "addons": {"user": 1}, "payment": "invoice"}
    body.update(overrides)
    return body


def test_services_list_terms_and_kits(api, service):
    [item] = api.get("/api/v1/services").get_json()["items"]
    assert item["id"] == service.id and item["kind"] == "xml_storage"
    assert item["terms"] == [{"months": 12, "price_cents": 60000}, {"months": 24, "price_cents": 108000}]
    assert item["starter_kits_gb"] == [5, 20]


def test_order_cancel_and_ledger(api, client_row, service, db):
    response = api.post("/api/v1/orders", json=_body(client_row, service))
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "awaiting_documentation" and order["renews_at"] is None
    assert order["amount_cents"] == 60000 + 12000 + 6000
    assert api.get(f"/api/v1/orders/{order['id']}").get_json()["id"] == order["id"]
    assert api.post(f"/api/v1/orders/{order['id']}/acceptance-email").status_code == 200
    ledger = api.get("/api/v1/ledger").get_json()
    assert ledger["balance_cents"] == -order["amount_cents"]
    cancelled = api.post(f"/api/v1/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = api.post(f"/api/v1/orders/{order['id']}/cancel")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_cancellable"
    ledger = api.get("/api/v1/ledger").get_json()
    assert ledger["balance_cents"] == 0 and len(ledger["items"]) == 2


def test_bad_input_is_422_per_field_and_saves_nothing(api, client_row, other_client, service, db):
    response = api.post("/api/v1/orders", json=_body(other_client, service, term_months="doze",
                                                      starter_kit_gb=7, addons=[1]))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert {"term_months", "starter_kit_gb", "addons"} <= set(fields)
    response = api.post("/api/v1/orders", json=_body(other_client, service))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"client_id"}
    assert api.post("/api/v1/orders", data="[]", content_type="application/json").status_code == 422
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_storage_mid_term_prorated_and_renew(api, client_row, service, db):
    order_id = api.post("/api/v1/orders", json=_body(client_row, service)).get_json()["id"]
    accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None,
                 terms=service.terms_version)
    db.session.commit()
    assert api.post(f"/api/v1/orders/{order_id}/storage", json={"gb": 0}).status_code == 422
    response = api.post(f"/api/v1/orders/{order_id}/storage", json={"gb": 5, "payment": "invoice"})
    assert response.status_code == 201
    body = response.get_json()
    order = db.session.get(Order, order_id)
    price, days = services.storage_quote(order, 5)
    assert body["amount_cents"] == price == 100 * 5 * 12  # bought on the term's first day: the whole term
    assert body["order"]["quota_gb"] == 10
    renewed = api.post(f"/api/v1/orders/{order_id}/renew", json={"payment": "invoice"})
    assert renewed.status_code == 201 and renewed.get_json()["period_start"] == body["order"]["renews_at"]


def test_openapi_documents_the_order_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/services", "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/orders/{id}/cancel",
                 "/api/v1/orders/{id}/acceptance-email", "/api/v1/orders/{id}/storage", "/api/v1/orders/{id}/renew",
                 "/api/v1/ledger"):
        assert path in paths, path
