"""The partner panel's Pagamento tab and Minhas faturas, the client area's invoices, and the
finance admin (filters, details, manual payment with a second approver, void, resend, CSV)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import g
from sqlalchemy import select

from billing import services
from billing.models import Invoice, InvoiceStatus, PaymentStatus
from billing.run import run_monthly_billing
from core.permissions import Role
from partner.models import ContractStatus, Payer
from tests.conftest import login_id
from tests.factories import UserFactory


def _past_day() -> str:
    """A day already past in the business time zone (the form's date input)."""
    return (services.local_today() - timedelta(days=2)).isoformat()


@pytest.fixture
def billed(db, partner, make_client):
    mine = make_client(Payer.PARTNER)
    own = make_client(Payer.CLIENT)
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    partner_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))
    client_invoice = db.session.scalar(select(Invoice).where(Invoice.client_id == own.id))
    return {"mine": mine, "own": own, "partner_invoice": partner_invoice, "client_invoice": client_invoice}


def test_profile_links_to_the_payment_tab(db, login_as, manager):
    html = login_as(manager).get("/meus-dados").get_data(as_text=True)
    assert "/meus-dados/pagamento" in html


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_payment_tab_lists_my_invoices_with_status(db, billed, login_as, manager):
    with time_machine.travel(noon(date(2025, 7, 5)), tick=False):
        html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    invoice = billed["partner_invoice"]
    assert "Minhas faturas" in html and invoice.number in html and 'data-status="pending"' in html
    assert billed["client_invoice"].number not in html  # the client's own invoice is not the partner's
    assert f"/faturas/{invoice.id}/pdf" in html
    # the partner pays for a client, no Stripe keys: no method to choose, how to pay instead
    assert 'name="method"' not in html and 'data-testid="how-to-pay"' in html
    assert "js.stripe.com" not in html  # no Stripe keys: no external script
    with time_machine.travel(noon(date(2025, 7, 11)), tick=False):
        html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'data-status="overdue"' in html and "Vencida" in html
    services.mark_paid(invoice, notify=False)
    html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'data-status="paid"' in html


def test_dashboard_flags_clients_of_overdue_invoices(db, billed, login_as, manager):
    with time_machine.travel(noon(date(2025, 7, 5)), tick=False):
        assert "Fatura vencida" not in login_as(manager).get("/painel").get_data(as_text=True)
    with time_machine.travel(noon(date(2025, 7, 11)), tick=False):
        html = login_as(manager).get("/painel").get_data(as_text=True)
    assert html.count("Fatura vencida") == 2  # the partner-paid client and the self-paying one


def test_method_choice_hidden_when_the_partner_pays_for_nobody(db, partner, make_client, login_as, manager):
    make_client(Payer.CLIENT)
    make_client(Payer.PARTNER, ContractStatus.CANCELLED)
    html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'name="method"' not in html and "Minhas faturas" in html


def test_choosing_the_method(db, billed, partner, login_as, manager, stripe_app):
    response = login_as(manager).post("/meus-dados/pagamento/metodo", data={"method": "card"})
    assert response.status_code == 302
    assert services.profile_for(Payer.PARTNER, partner, create=False).method == "card"
    response = login_as(manager).post("/meus-dados/pagamento/metodo", data={"method": "cheque"})
    assert response.status_code == 422
    assert 'data-field-error="method"' in response.get_data(as_text=True)


def test_card_save_without_stripe_is_refused(db, billed, login_as, manager):
    response = login_as(manager).post("/meus-dados/pagamento/cartao", data={"payment_method_id": "pm_123"})
    assert response.status_code == 503
    assert "Pagamentos online não configurados" in response.get_data(as_text=True)


def test_invoice_page_shows_lines_and_manual_payment_note(db, billed, login_as, manager):
    invoice = billed["partner_invoice"]
    html = login_as(manager).get(f"/faturas/{invoice.id}").get_data(as_text=True)
    assert invoice.number in html and billed["mine"].legal_name in html
    assert "Gerar boleto" not in html  # manual gateway: no button that does nothing
    assert "entre em contato com o financeiro" in html


def test_client_area_shows_the_clients_own_invoices(db, billed, login_as):
    own = billed["own"]
    user = UserFactory(role=Role.CLIENT, email=own.email, client_id=own.id)
    html = login_as(user).get("/cliente").get_data(as_text=True)
    assert 'data-testid="client-invoices"' in html and billed["client_invoice"].number in html
    assert billed["partner_invoice"].number not in html
    assert login_as(user).get(f"/faturas/{billed['client_invoice'].id}").status_code == 200
    assert login_as(user).get(f"/faturas/{billed['partner_invoice'].id}").status_code == 404


def test_client_area_hides_invoices_when_the_partner_pays(db, billed, login_as):
    mine = billed["mine"]
    user = UserFactory(role=Role.CLIENT, email=mine.email, client_id=mine.id)
    html = login_as(user).get("/cliente").get_data(as_text=True)
    assert 'data-testid="client-invoices"' not in html


# -- finance admin ---------------------------------------------------------------------------------------


def test_admin_list_filters(db, billed, login_as, finance_user):
    c = login_as(finance_user)
    html = c.get("/admin/invoices/").get_data(as_text=True)
    assert billed["partner_invoice"].number in html and billed["client_invoice"].number in html
    services.mark_paid(billed["client_invoice"], notify=False)
    view = c.application.extensions["revenda_admin"]._views
    invoice_view = next(v for v in view if v.endpoint == "invoices")
    args = {flt.name: arg for arg, (_i, flt) in invoice_view._filter_args.items()}

    def listed(**filters):
        query = "&".join(f"flt{i}_{args[name]}={value}" for i, (name, value) in enumerate(filters.items()))
        page = c.get(f"/admin/invoices/?{query}").get_data(as_text=True)
        return {inv.number for inv in (billed["partner_invoice"], billed["client_invoice"]) if inv.number in page}

    assert listed(**{"Situação": "paid"}) == {billed["client_invoice"].number}
    assert listed(**{"Situação": "open"}) == {billed["partner_invoice"].number}
    assert listed(**{"Mês (AAAA-MM)": "2025-05"}) == set()
    assert listed(**{"Revenda (id)": billed["own"].partner_id}) == {billed["partner_invoice"].number,
                                                                       billed["client_invoice"].number}
    # Real time here (a staff session is not valid on a travelled clock): move the due date instead.
    today = services.local_today()
    billed["partner_invoice"].due_date = today - timedelta(days=1)
    assert listed(**{"Vencida": "1"}) == {billed["partner_invoice"].number}
    billed["partner_invoice"].due_date = today
    assert listed(**{"Vencida": "1"}) == set()
    assert listed(**{"Vencida": "0"}) == {billed["partner_invoice"].number, billed["client_invoice"].number}


def test_admin_csv_export(db, billed, login_as, finance_user):
    response = login_as(finance_user).get("/admin/invoices/export/csv/")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    header, *rows = text.splitlines()
    assert "Chave do pagador" in header and "Situação" in header
    row = next(r for r in rows if billed["partner_invoice"].number in r)
    assert f"partner:{billed['mine'].partner_id}" in row and ",open," in row and ",partner," in row


def test_admin_manual_payment_needs_a_second_finance_user(db, billed, login_as, finance_user):
    invoice = billed["partner_invoice"]
    c = login_as(finance_user)
    details = c.get(f"/admin/invoices/details/?id={invoice.id}").get_data(as_text=True)
    assert invoice.number in details and billed["mine"].legal_name in details and "Registrar pagamento" in details
    response = c.post(f"/admin/invoices/{invoice.id}/manual-payment", data={"reference": ""})
    assert response.status_code == 422 and "Informe a referência" in response.get_data(as_text=True)
    response = c.post(f"/admin/invoices/{invoice.id}/manual-payment", data={"reference": "TED 4455", "amount": "59,95",
                                                                           "received_on": _past_day()})
    assert response.status_code == 302
    [payment] = invoice.payments
    assert payment.status == PaymentStatus.PENDING_APPROVAL and invoice.status == InvoiceStatus.OPEN
    response = c.post(f"/admin/invoices/{invoice.id}/payments/{payment.id}/approve")
    assert response.status_code == 409 and "outro usuário do financeiro" in response.get_data(as_text=True)
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    second = UserFactory(role=Role.FINANCE)
    g.pop("_login_user", None)  # the test's app context (and its g) outlives each request
    response = login_as(second).post(f"/admin/invoices/{invoice.id}/payments/{payment.id}/approve")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID and payment.approved_by_id == second.id


def test_admin_void_and_resend(db, billed, login_as, finance_user, inbox, deliver_mail, partner):
    invoice = billed["partner_invoice"]
    c = login_as(finance_user)
    assert c.post(f"/admin/invoices/{invoice.id}/resend").status_code == 302
    deliver_mail()
    inbox.wait_for(1)
    assert invoice.number in inbox.to(partner.email)[0]["Subject"]
    assert c.post(f"/admin/invoices/{invoice.id}/void", data={"reason": ""}).status_code == 422
    assert invoice.status == InvoiceStatus.OPEN
    response = c.post(f"/admin/invoices/{invoice.id}/void", data={"reason": "Emitida em duplicidade"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.VOID and invoice.void_reason == "Emitida em duplicidade"
    response = c.post(f"/admin/invoices/{invoice.id}/manual-payment", data={"reference": "x", "amount": "1,00",
                                                                           "received_on": _past_day()})
    assert response.status_code == 409


def test_admin_pdf(db, billed, login_as, finance_user):
    response = login_as(finance_user).get(f"/admin/invoices/{billed['client_invoice'].id}/pdf")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF")


def test_admin_actions_need_csrf(db, billed, csrf_client, finance_user):
    with csrf_client.session_transaction() as session:
        session["_user_id"] = login_id(finance_user)
        session["_fresh"] = True
    invoice = billed["partner_invoice"]
    response = csrf_client.post(f"/admin/invoices/{invoice.id}/manual-payment", data={"reference": "TED"})
    assert response.status_code == 400
    assert invoice.payments == []
