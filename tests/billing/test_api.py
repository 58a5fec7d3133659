"""Partner API: invoices (the partner's own and its self-paying clients'), PDF, boleto."""

from datetime import date

import pytest
from sqlalchemy import select

from billing.models import Invoice
from billing.run import run_monthly_billing
from partner import services as partner_services
from partner.models import Payer


@pytest.fixture
def token(db, partner):
    plaintext = partner_services.create_api_token(partner, "billing tests")[1]
    db.session.commit()  # a savepoint: survives the rollback of a request answered with an error
    return plaintext


@pytest.fixture
def billed(db, partner, other_partner, make_client, priced_plans):
    bronze, _ = priced_plans
    mine = make_client(Payer.PARTNER, plan_=bronze)
    own = make_client(Payer.CLIENT, plan_=bronze)
    theirs = make_client(Payer.CLIENT, partner_=other_partner)
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    db.session.commit()  # a savepoint: survives the rollback of a request answered with an error
    by_key = {i.payer_key: i for i in db.session.scalars(select(Invoice))}
    return {"partner": by_key[f"partner:{partner.id}"], "client": by_key[f"client:{own.id}"],
            "other": by_key[f"client:{theirs.id}"], "mine": mine, "own": own}


def api(client, token, method, url, **kwargs):
    return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_list_shows_own_and_self_paying_clients_invoices(client, billed, token):
    response = api(client, token, "GET", "/api/v1/invoices")
    assert response.status_code == 200
    data = response.get_json()
    ids = {item["id"] for item in data["items"]}
    assert ids == {billed["partner"].id, billed["client"].id}
    assert data["total"] == 2 and data["page"] == 1


def test_invoice_json_shape(client, billed, token, partner, priced_plans):
    invoice = billed["partner"]
    data = api(client, token, "GET", f"/api/v1/invoices/{invoice.id}").get_json()
    assert {k: data[k] for k in ("id", "number", "status", "payer", "partner_id", "client_id", "month",
                                 "due_date", "total_cents")} == {
        "id": invoice.id, "number": invoice.number, "status": "open", "payer": "partner", "partner_id": partner.id,
        "client_id": None, "month": "2025-06", "due_date": "2025-07-10", "total_cents": 2495,
    }
    [line] = data["lines"]
    assert {k: line[k] for k in ("client_id", "plan_id", "list_price_cents", "discount_cents", "amount_cents",
                                 "period_start", "period_end")} == {
        "client_id": billed["mine"].id, "plan_id": priced_plans[0].id, "list_price_cents": 4990,
        "discount_cents": 2495, "amount_cents": 2495, "period_start": "2025-06-01", "period_end": "2025-06-30",
    }
    assert line["description"]


def test_filters(client, billed, token):
    def ids(query):
        response = api(client, token, "GET", f"/api/v1/invoices?{query}")
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    assert ids("payer=client") == {billed["client"].id}
    assert ids("month=2025-05") == set()
    assert ids(f"client_id={billed['own'].id}") == {billed["client"].id}
    assert ids("status=paid") == set()
    for bad in ("status=late", "month=2025-13", "payer=x", "client_id=abc", "page=x"):
        response = api(client, token, "GET", f"/api/v1/invoices?{bad}")
        assert response.status_code == 422 and response.get_json()["error"]["code"] in (
            "invalid_parameter", "invalid_pagination")


def test_other_partners_invoice_is_404(client, billed, token):
    for url in (f"/api/v1/invoices/{billed['other'].id}", f"/api/v1/invoices/{billed['other'].id}/pdf",
                "/api/v1/invoices/999999", "/api/v1/invoices/abc"):
        response = api(client, token, "GET", url)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = api(client, token, "POST", f"/api/v1/invoices/{billed['other'].id}/boleto")
    assert response.status_code == 404


def test_pdf(client, billed, token):
    response = api(client, token, "GET", f"/api/v1/invoices/{billed['client'].id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF") and "no-store" in response.headers["Cache-Control"]


def test_boleto_without_stripe_is_503(client, billed, token, db):
    response = api(client, token, "POST", f"/api/v1/invoices/{billed['partner'].id}/boleto")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "payments_unavailable"


def test_boleto_of_a_paid_invoice_is_409(client, billed, token):
    from billing import services

    services.mark_paid(billed["partner"], notify=False)
    response = api(client, token, "POST", f"/api/v1/invoices/{billed['partner'].id}/boleto")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_payable"


def test_boleto_through_stripe(client, billed, token, stripe_app, db, partner):
    """The recorded boleto response, as in test_stripe (localstripe has no boleto)."""
    from test_stripe import CannedBoletoClient

    from billing import gateway as gw
    from billing import services

    canned = CannedBoletoClient()
    cfg = stripe_app.config
    stripe_app.extensions["billing_gateway"] = {(cfg["STRIPE_SECRET_KEY"], cfg["STRIPE_WEBHOOK_SECRET"],
                                                 cfg["STRIPE_API_BASE"]): gw.StripeGateway(
        cfg["STRIPE_SECRET_KEY"], cfg["STRIPE_WEBHOOK_SECRET"], cfg["STRIPE_API_BASE"], http_client=canned)}
    services.profile_for(Payer.PARTNER, partner).stripe_customer_id = "cus_canned"
    first = api(client, token, "POST", f"/api/v1/invoices/{billed['partner'].id}/boleto")
    assert first.status_code == 201, first.get_json()
    data = first.get_json()
    assert data["number"] == canned.recorded["next_action"]["boleto_display_details"]["number"]
    assert data["expires_at"].startswith("2025-01-14")
    assert data["invoice_id"] == billed["partner"].id


def test_no_token_is_401(client, billed):
    assert client.get("/api/v1/invoices").status_code == 401
    assert api(client, "rvp_wrong", "GET", f"/api/v1/invoices/{billed['partner'].id}").status_code == 401


def test_openapi_documents_the_invoice_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/invoices", "/api/v1/invoices/{id}", "/api/v1/invoices/{id}/pdf",
                 "/api/v1/invoices/{id}/boleto"):
        assert path in spec["paths"]
    assert "Invoice" in spec["components"]["schemas"]
