"""Never offer a payment method that cannot work (issue 9): without Stripe no boleto or card is
offered anywhere, and every place an invoice is shown says plainly how to pay; with Stripe
(localstripe) the methods are offered and work."""

import pytest
from sqlalchemy import select

from billing import services
from billing.models import BillingProfile, Invoice, PaymentMethod
from billing.run import Month, run_monthly_billing
from core.mail import OutboxEmail
from partner.models import ContractStatus, Payer

PIX = "Banco 001, agência 1234, conta 56789-0; PIX 11.444.777/0001-61"


@pytest.fixture
def invoices(db, partner, make_client):
    mine = make_client(Payer.PARTNER)
    own = make_client(Payer.CLIENT)
    run_monthly_billing(str(Month.of(services.local_today()).previous()))
    return {"mine": mine, "own": own,
            "partner": db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}")),
            "client": db.session.scalar(select(Invoice).where(Invoice.client_id == own.id))}


def _page(http, url) -> str:
    response = http.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_manual_gateway_offers_no_method_and_says_how_to_pay(db, invoices, partner, login_as, manager, config):
    config(BILLING_PAYMENT_INSTRUCTIONS=PIX)
    http = login_as(manager)
    tab = _page(http, "/meus-dados/pagamento")
    assert "Boleto bancário" not in tab and 'name="method"' not in tab
    assert f"Pague suas faturas por transferência ou PIX: {PIX}." in tab
    invoice = invoices["partner"]
    page = _page(http, f"/faturas/{invoice.id}")
    assert "Gerar boleto" not in page and "Pagar com cartão" not in page
    assert f"Pague por transferência ou PIX: {PIX}." in page and f"({invoice.number})" in page


def test_manual_gateway_refuses_a_method_with_a_clear_message(db, invoices, partner, login_as, manager):
    response = login_as(manager).post("/meus-dados/pagamento/metodo", data={"method": "boleto"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Pagamentos online não configurados: não há forma de pagamento a escolher." in html
    assert db.session.scalar(select(BillingProfile).where(BillingProfile.payer_key == f"partner:{partner.id}")) is None


def test_manual_gateway_without_instructions_says_whom_to_contact(db, invoices, login_as, client_user):
    """The client that pays for itself, in its client area and on its invoice."""
    invoice = invoices["client"]
    client_user.client_id = invoices["own"].id
    http = login_as(client_user)
    area = _page(http, "/cliente")
    assert "Gerar boleto" not in area and "Como pagar" in area
    page = _page(http, f"/faturas/{invoice.id}")
    assert ("Para pagar esta fatura, entre em contato com o financeiro: financeiro@revenda.local, informando o "
            f"número da fatura ({invoice.number}).") in page


def test_manual_gateway_invoice_email_says_how_to_pay(db, invoices, config, partner):
    config(BILLING_PAYMENT_INSTRUCTIONS=PIX)
    services.resend_invoice(invoices["partner"])
    body = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to == partner.email)
                             .order_by(OutboxEmail.id.desc()).limit(1)).body_text  # sealed at rest
    assert f"Pague por transferência ou PIX: {PIX}." in body and "boleto" not in body.lower()


def test_manual_gateway_trials_are_not_held_for_a_method_that_cannot_exist(db, make_client):
    """With nothing to choose, every payer pays the manual way: a trial ends active, not blocked
    for lacking a payment method it could never save."""
    trial = make_client(Payer.PARTNER, status=ContractStatus.TRIAL)
    assert services.has_payment_method(trial) is True


def test_stripe_offers_boleto_and_card_and_they_work(db, invoices, partner, login_as, manager, stripe_app):
    http = login_as(manager)
    tab = _page(http, "/meus-dados/pagamento")
    assert 'value="boleto"' in tab and 'value="card"' in tab and 'data-testid="how-to-pay"' not in tab
    assert 'value="card" disabled' not in tab
    assert http.post("/meus-dados/pagamento/metodo", data={"method": "boleto"}).status_code == 302
    profile = db.session.scalar(select(BillingProfile).where(BillingProfile.payer_key == f"partner:{partner.id}"))
    assert profile.method == PaymentMethod.BOLETO
    invoice = invoices["partner"]
    page = _page(http, f"/faturas/{invoice.id}")
    assert "Gerar boleto" in page and "entre em contato com o financeiro" not in page
    # card: choosing it opens a real SetupIntent at the provider (localstripe) for Stripe Elements
    assert http.post("/meus-dados/pagamento/metodo", data={"method": "card"}).status_code == 302
    tab = _page(http, "/meus-dados/pagamento?cartao=novo")
    assert 'id="card-form"' in tab and 'data-client-secret="seti_' in tab
