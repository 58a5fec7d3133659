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
from orders.models import Order, Service
from partner.models import Client, Partner
from tests.orders.helpers import make_service

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(live_app):
    with live_app.app_context():
        # one service for the module's tests (the live database lives for the whole session)
        service = db.session.scalar(select(Service).where(Service.name == "Arquivo XML Navegador")) \
            or make_service(name="Arquivo XML Navegador")
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


def test_order_with_a_new_holder_registered_inline(login, live_server, live_app, catalogue):
    """"Novo titular" shows Novo cadastro's fields in place of the client list; a bad CNPJ comes back
    next to its field with nothing saved; corrected, the order is placed for the newly registered client."""
    from stdnum.br import cnpj as stdnum_cnpj

    base = "776655440001"
    good = stdnum_cnpj.format(base + stdnum_cnpj.calc_check_digits(base))
    page = login("manager")
    page.goto(f"{live_server}/pedidos/novo")
    expect(page.get_by_test_id("new-holder")).to_be_hidden()
    page.get_by_test_id("holder-new").check()
    expect(page.get_by_test_id("new-holder")).to_be_visible()
    expect(page.locator("#f-client_id")).to_be_hidden()

    page.check("#payer-client-partner")
    page.select_option("#f-client-software_id", label="FazNota")
    page.select_option("#f-client-plan_id", label="Ouro — R$ 119,90")
    expect(page.get_by_test_id("new-holder").get_by_test_id("price-preview")).to_contain_text("R$ 59,95")
    for name, value in {"legal_name": "Papelaria Ponto Final Ltda", "cnpj": good[:-1] + "0" if good[-1] != "0"
                        else good[:-1] + "1", "email": "compras@pontofinal-clientes.example", "cep": "01310-100",
                        "street": "Av. Paulista", "number": "900", "district": "Bela Vista", "city": "São Paulo",
                        "state": "SP"}.items():
        page.fill(f"#f-client-{name}", value)
    page.select_option("#f-service_id", str(catalogue["service_id"]))
    page.fill("#f-term_months", "12")
    page.fill("#f-starter_kit_gb", "5")
    page.select_option("#f-payment", "invoice")
    page.get_by_test_id("to-summary").click()

    # refused: the message sits next to the CNPJ, the new holder's fields still shown and filled
    expect(page.locator("[data-field-error='client.cnpj']")).to_contain_text("dígitos verificadores")
    expect(page.get_by_test_id("new-holder")).to_be_visible()
    expect(page.locator("#f-client-legal_name")).to_have_value("Papelaria Ponto Final Ltda")
    with live_app.app_context():
        assert db.session.scalar(select(Client.id).where(Client.legal_name == "Papelaria Ponto Final Ltda")) is None
        db.session.remove()

    page.fill("#f-client-cnpj", good)
    page.get_by_test_id("to-summary").click()
    expect(page.get_by_test_id("summary-total")).to_have_text(format_brl(60000 + 12000))
    page.get_by_test_id("confirm").click()
    page.wait_for_url(re.compile(r"/pedidos/\d+$"))
    expect(page.get_by_test_id("order-status")).to_have_text("Aguardando documentação")
    order_id = int(page.url.rsplit("/", 1)[1])
    with live_app.app_context():
        order = db.session.get(Order, order_id)
        assert order.client.legal_name == "Papelaria Ponto Final Ltda"
        assert order.client.partner_id == catalogue["partner_id"]
        db.session.remove()
