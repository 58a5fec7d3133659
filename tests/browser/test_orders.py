"""Orders in real Chromium (issue 13): a manager orders XML storage for a client → the client accepts
the service's terms from the e-mailed link → the order is active → 5 GB added mid-term at the
prorated price; another order cancelled while awaiting documentation (with the confirmation) → its
credit appears on the partner's next invoice."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from billing.models import Invoice
from billing.run import Month, run_monthly_billing
from contracts.services import acceptance_token
from core.db import db
from core.money import format_brl
from orders import services
from orders.models import Order
from partner.models import Client, Partner
from tests.orders.helpers import make_service

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(live_app):
    with live_app.app_context():
        service = make_service(name="Arquivo XML Navegador")
        db.session.commit()
        partner = db.session.scalar(select(Partner).where(Partner.cnpj == "11222333000181"))  # Alfa
        clients = {c.cnpj: c.id for c in db.session.scalars(select(Client).where(Client.partner_id == partner.id))}
        data = {"service_id": service.id, "partner_id": partner.id, "first": clients["34028316000103"],
                "second": clients["12ABC34501DE35"]}
        db.session.remove()
    return data


def _order(page, live_server, client_id, service_id):
    page.get_by_role("link", name="Pedidos", exact=True).click()
    page.get_by_test_id("new-order").click()
    page.select_option("#f-client_id", str(client_id))
    page.select_option("#f-service_id", str(service_id))
    page.fill("#f-term_months", "12")
    page.fill("#f-starter_kit_gb", "5")
    page.select_option("#f-payment", "invoice")
    page.get_by_test_id("to-summary").click()
    expect(page.get_by_test_id("summary-total")).to_have_text(format_brl(60000 + 12000))
    page.get_by_test_id("confirm").click()
    page.wait_for_url(re.compile(r"/pedidos/\d+$"))
    expect(page.get_by_test_id("order-status")).to_have_text("Aguardando documentação")
    return int(page.url.rsplit("/", 1)[1])


def test_order_accept_add_storage_and_cancel_credit(login, browser, live_server, live_app, catalogue):
    page = login("manager")
    order_id = _order(page, live_server, catalogue["first"], catalogue["service_id"])

    # the client opens the acceptance link it was e-mailed (a browser of its own, not logged in)
    with live_app.app_context():
        order = db.session.get(Order, order_id)
        link = f"{live_server}/aceite/{acceptance_token(order.client, order.service.terms_version)}"
        db.session.remove()
    guest = browser.new_context(locale="pt-BR")
    client_page = guest.new_page()
    client_page.goto(link)
    expect(client_page.get_by_test_id("document")).to_be_visible()
    expect(client_page.get_by_test_id("terms")).to_contain_text("guarda por 5 anos")
    client_page.check("#accept-terms")
    client_page.get_by_test_id("accept-submit").click()
    expect(client_page.get_by_test_id("accepted")).to_be_visible()
    guest.close()

    page.reload()
    expect(page.get_by_test_id("order-status")).to_have_text("Ativo")

    # 100 days into the term: 5 GB more cost the rest of the term, to the centavo
    with live_app.app_context():
        order = db.session.get(Order, order_id)
        order.term_start -= timedelta(days=100)
        order.renews_at -= timedelta(days=100)
        db.session.commit()
        expected, days = services.storage_quote(order, 5)
        db.session.remove()
    page.reload()
    page.get_by_test_id("gb-quote-input").fill("5")
    page.get_by_test_id("gb-quote").click()
    expect(page.get_by_test_id("gb-price")).to_contain_text(format_brl(expected))
    expect(page.get_by_test_id("gb-price")).to_contain_text(f"({days} dias)")
    page.locator("form[action$='/espaco'] select[name=payment]").select_option("invoice")
    page.get_by_test_id("gb-buy").click()
    page.wait_for_url(re.compile(rf"/pedidos/{order_id}$"))
    page.get_by_test_id("tab-storage").click()
    expect(page.get_by_test_id("storage-history")).to_contain_text(format_brl(expected))
    expect(page.get_by_test_id("usage")).to_contain_text("de 10 GB")

    # another order, cancelled while awaiting documentation (the confirmation is accepted)
    second_id = _order(page, live_server, catalogue["second"], catalogue["service_id"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("cancel-order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelado")
    expect(page.get_by_test_id("resend-acceptance")).to_have_count(0)
    page.get_by_role("link", name="Pedidos", exact=True).click()
    expect(page.locator(f"tr[data-order-id='{second_id}']")).to_contain_text("Cancelado")

    # the partner's next invoice carries the credit
    with live_app.app_context():
        payer = f"partner:{catalogue['partner_id']}"
        month = Month.of(services.local_today())
        # the next invoice: this month's, unless an earlier browser test already issued it for this partner
        while db.session.scalar(select(Invoice.id).where(Invoice.payer_key == payer, Invoice.month == str(month))):
            month = month.next()
        run_monthly_billing(month)
        invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == payer, Invoice.month == str(month)))
        credits = [line for line in invoice.lines if line.description.startswith("Créditos")]
        assert credits and credits[0].amount_cents <= -(60000 + 12000)
        invoice_id = invoice.id
        db.session.remove()
    page.goto(f"{live_server}/faturas/{invoice_id}")
    expect(page.locator("body")).to_contain_text("Créditos (pedidos cancelados, ajustes)")
