"""Billing in real Chromium: a manager opens Minhas faturas and downloads the PDF; a finance user
records a manual payment, a second finance user approves it, and the client blocked for
non-payment becomes active again."""

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from accounts.models import User
from billing.models import Invoice
from billing.run import Month, local_today, run_monthly_billing
from contracts import services as contracts
from core.db import db
from core.permissions import Role
from partner.models import Client, Partner
from tests.browser.two_factor_steps import pass_two_factor

pytestmark = pytest.mark.browser

SECOND_PASSWORD = "segundo-financeiro-2026"


@pytest.fixture
def billed(live_app, demo_logins):
    """The demo billed for this month (committed), one partner-paid client blocked for
    non-payment, and a second finance user — the demo has only one. The invoice to pay is the partner's
    oldest open one: the lived-in demo already has an overdue month, which is what blocks."""
    with live_app.app_context():
        run_monthly_billing(Month.of(local_today()))
        partner = db.session.scalar(select(Partner).where(Partner.cnpj == "11222333000181"))  # Alfa
        invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}",
                                                          Invoice.status == "open").order_by(Invoice.month))
        client = db.session.scalar(select(Client).where(Client.cnpj == "34028316000103"))  # Pão Quente
        if client.status != "blocked":
            contracts.block_for_non_payment(client)
        email = f"financeiro2-{uuid.uuid4().hex[:6]}@revenda.local"
        second = User(email=email, role=Role.FINANCE, name="Financeiro 2")
        second.set_password(SECOND_PASSWORD)
        db.session.add(second)
        db.session.commit()
        data = {"invoice_id": invoice.id, "number": invoice.number, "client_id": client.id,
                "second": {"email": email, "password": SECOND_PASSWORD}}
        db.session.remove()
    return data


def sign_in(page, live_server, email, password, landing):
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Entrar", exact=True).click()
    pass_two_factor(page, email, password)  # finance staff: a code, or enrolment the first time
    page.wait_for_url(re.compile(landing))


def test_manager_downloads_the_invoice_pdf(login, live_server, billed, tmp_path):
    page = login("manager")
    page.get_by_role("link", name="Meus dados").click()
    page.get_by_role("link", name="Pagamento").click()
    table = page.get_by_test_id("my-invoices")
    row = table.locator(f"tr[data-invoice='{billed['number']}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(re.compile("Pendente|Vencida"))
    with page.expect_download() as download_info:
        row.get_by_test_id("invoice-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"fatura-{billed['number']}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 5000


def test_manual_payment_approved_by_a_second_finance_user_unblocks_the_client(
        browser, live_server, demo_logins, billed, live_app):
    finance = demo_logins["users"]["finance"]
    details = f"{live_server}/admin/invoices/details/?id={billed['invoice_id']}"

    first = browser.new_context(locale="pt-BR")
    page = first.new_page()
    sign_in(page, live_server, finance["email"], finance["password"], r"/admin/?$")
    page.goto(details)
    expect(page.get_by_test_id("invoice-status")).to_have_text(re.compile("Pendente|Vencida"))
    page.fill("#reference", "TED 2026-0001")
    expect(page.locator("#amount")).not_to_have_value("")  # the invoice total, as a start
    with live_app.app_context():
        received = local_today() - timedelta(days=1)
    page.fill("#received_on", received.isoformat())
    page.get_by_role("button", name="Registrar pagamento").click()
    expect(page.get_by_text("Outro usuário do financeiro precisa aprová-lo")).to_be_visible()
    expect(page.get_by_text("Aguardando outro usuário do financeiro")).to_be_visible()
    expect(page.get_by_test_id("approve-payment")).to_have_count(0)  # not for the one who recorded it
    expect(page.get_by_test_id("payment-received-on")).to_have_text(received.strftime("%d/%m/%Y"))
    first.close()

    second = browser.new_context(locale="pt-BR")
    page = second.new_page()
    sign_in(page, live_server, billed["second"]["email"], billed["second"]["password"], r"/admin/?$")
    page.goto(details)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("approve-payment").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paga")
    second.close()

    manager = browser.new_context(locale="pt-BR")
    page = manager.new_page()
    creds = demo_logins["users"]["manager"]
    sign_in(page, live_server, creds["email"], creds["password"], r"/painel")
    page.goto(f"{live_server}/clientes/{billed['client_id']}")
    expect(page.locator("h1 [data-status]")).to_have_attribute("data-status", "active")
    manager.close()
    with live_app.app_context():
        client = db.session.get(Client, billed["client_id"])
        assert (client.status, client.status_reason) == ("active", None)
        db.session.remove()
