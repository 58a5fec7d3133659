"""Regressions found walking the billing screens in a browser (issue 5 QA pass): the finance
admin's CSV export and lists, the invoice page's error paths, the Pagamento tab, the invoice PDF
and the invoice e-mails in the embedded manual-payment mode."""

from datetime import date

import pytest
from pdftext import pdf_text
from sqlalchemy import select

from billing import dunning, services
from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from billing.run import run_monthly_billing
from core.db import db as _db
from core.mail import OutboxEmail
from partner.models import Payer


def db_session():
    return _db.session


@pytest.fixture
def billed(db, partner, make_client):
    mine = make_client(Payer.PARTNER)
    own = make_client(Payer.CLIENT)
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    partner_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))
    client_invoice = db.session.scalar(select(Invoice).where(Invoice.client_id == own.id))
    return {"mine": mine, "own": own, "partner_invoice": partner_invoice, "client_invoice": client_invoice}


def test_csv_export_is_complete_after_the_request_session_is_gone(db, billed, login_as, finance_user):
    """Flask-Admin streamed the CSV after the request boundary had committed (expiring every row)
    and the session was removed: the download broke after the header (DetachedInstanceError)."""
    numbers = {billed["partner_invoice"].number, billed["client_invoice"].number}
    response = login_as(finance_user).get("/admin/invoices/export/csv/", buffered=False)
    db.session.expunge_all()  # what the app context's teardown does in production
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and all(number in text for number in numbers)


def test_admin_lists_show_dates_and_labels_people_read(db, billed, login_as, finance_user):
    """The invoice list showed ISO dates (2025-07-10) and the payment list raw enums
    (PENDING_APPROVAL, MANUAL) and UTC timestamps."""
    invoice = billed["partner_invoice"]
    services.record_manual_payment(invoice, "TED 778899", actor=finance_user)
    c = login_as(finance_user)
    html = c.get("/admin/invoices/").get_data(as_text=True)
    assert "10/07/2025" in html and "2025-07-10" not in html
    html = c.get("/admin/payments/").get_data(as_text=True)
    assert "TED 778899" in html and "Aguardando aprovação" in html and "Transf./depósito" in html
    assert "PENDING_APPROVAL" not in html and "+00:00" not in html
    html = c.get("/admin/webhook_events/").get_data(as_text=True)
    assert "Recebido em" in html and "Received At" not in html


def test_admin_details_hide_the_manual_payment_form_while_one_awaits_approval(db, billed, login_as, finance_user):
    """A second manual payment can only be refused while one is pending: no form that cannot work."""
    invoice = billed["partner_invoice"]
    c = login_as(finance_user)
    assert 'data-testid="manual-payment-form"' in c.get(f"/admin/invoices/details/?id={invoice.id}").get_data(
        as_text=True)
    services.record_manual_payment(invoice, "TED 1", actor=finance_user)
    html = c.get(f"/admin/invoices/details/?id={invoice.id}").get_data(as_text=True)
    assert 'data-testid="manual-payment-form"' not in html and 'data-testid="pending-approval-note"' in html
    assert 'data-testid="void-form"' in html  # cancelling stays possible


def test_admin_details_keep_what_was_typed_on_error(db, billed, login_as, finance_user):
    invoice = billed["partner_invoice"]
    response = login_as(finance_user).post(f"/admin/invoices/{invoice.id}/manual-payment",
                                           data={"reference": "", "note": "veio por e-mail"})
    assert response.status_code == 422
    assert 'value="veio por e-mail"' in response.get_data(as_text=True)


def test_refused_boleto_shows_the_invoice_and_how_to_pay(db, billed, login_as, manager):
    """Without Stripe keys "Gerar boleto" ended on a bare error page (the message twice, a link to
    the home page); now the invoice page again, the reason once, and how payment happens."""
    invoice = billed["partner_invoice"]
    response = login_as(manager).post(f"/faturas/{invoice.id}/boleto")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert html.count("Pagamentos online não configurados; o financeiro registra o pagamento manualmente.") == 1
    assert invoice.number in html and 'data-testid="manual-payment-help"' in html
    assert "financeiro@revenda.local" in html  # where the receipt goes


def test_invoice_page_says_where_to_send_the_receipt(db, billed, login_as, manager):
    invoice = billed["partner_invoice"]
    html = login_as(manager).get(f"/faturas/{invoice.id}").get_data(as_text=True)
    assert "financeiro@revenda.local" in html and f"({invoice.number})" in html
    assert "desbloqueados automaticamente" in html  # overdue: what paying does to blocked contracts


def test_payment_tab_does_not_pretend_a_method_is_saved(db, billed, partner, login_as, manager, stripe_app):
    """With no method saved the page showed "Boleto bancário" checked, while billing saw no
    payment method at all (trials then end blocked)."""
    html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'data-testid="no-payment-method"' in html and " checked" not in html
    assert login_as(manager).post("/meus-dados/pagamento/metodo", data={"method": "boleto"}).status_code == 302
    html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'data-testid="no-payment-method"' not in html
    assert 'value="boleto" checked' in html
    assert services.has_payment_method(billed["mine"]) is True


def test_payment_tab_offers_no_method_without_online_payments(db, billed, login_as, manager):
    """Issue 9: without Stripe "Boleto bancário" could be chosen, yet no boleto ever existed."""
    html = login_as(manager).get("/meus-dados/pagamento").get_data(as_text=True)
    assert 'name="method"' not in html and "Boleto bancário" not in html and "Cartão de crédito" not in html
    assert 'data-testid="how-to-pay"' in html
    assert "Para pagar suas faturas, entre em contato com o financeiro: financeiro@revenda.local." in html


# -- the invoice PDF -------------------------------------------------------------------------------------


def test_pdf_of_a_client_does_not_mention_the_reseller_discount(db, billed):
    """The self-paying client's PDF said "Descontos (revenda: 50%)": the reseller's discount is
    none of the client's business."""
    text = pdf_text(render_invoice_pdf(billed["client_invoice"]))
    assert "50%" not in text and "Desconto de revenda" not in text and "revenda:" not in text
    assert "Descontos" in text
    partner_text = pdf_text(render_invoice_pdf(billed["partner_invoice"]))
    assert "Desconto de revenda (50%)" in partner_text


def test_pdf_total_label_follows_the_status(db, billed, finance_user):
    """A paid or cancelled invoice said "Total a pagar"."""
    paid, void = billed["partner_invoice"], billed["client_invoice"]
    services.mark_paid(paid, notify=False)
    services.void_invoice(void, "Emitida em duplicidade", actor=finance_user)
    paid_text, void_text = pdf_text(render_invoice_pdf(paid)), pdf_text(render_invoice_pdf(void))
    assert "Total pago" in paid_text and "Total a pagar" not in paid_text and "Como pagar" not in paid_text
    assert "Total (fatura cancelada)" in void_text and "Total a pagar" not in void_text


def test_pdf_of_an_open_invoice_says_how_to_pay_without_stripe(db, billed, config):
    text = " ".join(pdf_text(render_invoice_pdf(billed["partner_invoice"])).split())
    assert "COMO PAGAR" in text  # the box title, upper-cased by the PDF's CSS
    assert "financeiro@revenda.local" in text and billed["partner_invoice"].number in text
    assert "entre em contato com o financeiro" in text and "boleto" not in text.lower()
    config(BILLING_PAYMENT_INSTRUCTIONS="PIX 11.444.777/0001-61")
    text = " ".join(pdf_text(render_invoice_pdf(billed["partner_invoice"])).split())
    assert "Pague por transferência ou PIX: PIX 11.444.777/0001-61." in text


# -- e-mails ---------------------------------------------------------------------------------------------


def _last_mail(to: str) -> str:
    return db_session().scalar(select(OutboxEmail).where(OutboxEmail.to == to)  # bodies are sealed at rest
                               .order_by(OutboxEmail.id.desc()).limit(1)).body_text


def test_invoice_mails_do_not_offer_boleto_or_card_without_stripe(db, billed, partner):
    """The e-mails said "gere o boleto" / "Pague com boleto ou cartão" where neither exists."""
    invoice = billed["partner_invoice"]
    services.resend_invoice(invoice)
    body = _last_mail(partner.email)
    assert "boleto" not in body.lower() and "financeiro@revenda.local" in body and invoice.number in body
    dunning._send_notice(invoice, "after:1", date(2025, 7, 11))
    body = _last_mail(partner.email)
    assert "cartão" not in body and "boleto" not in body.lower() and "financeiro@revenda.local" in body


def test_invoice_mails_offer_boleto_and_card_with_stripe(db, billed, partner, monkeypatch):
    monkeypatch.setattr(services, "online_payments_enabled", lambda: True)
    invoice = billed["partner_invoice"]
    services.resend_invoice(invoice)
    assert "gere o boleto" in _last_mail(partner.email)
    dunning._send_notice(invoice, "after:1", date(2025, 7, 11))
    assert "Pague com boleto ou cartão" in _last_mail(partner.email)


def test_late_reminder_does_not_set_a_deadline_in_the_past(db, billed, partner):
    """A reminder sent after the block date (dunning missed days) said "pague até <a past date>" to
    avoid a block that had already happened."""
    invoice = billed["partner_invoice"]  # due 10/07/2025
    dunning._send_notice(invoice, "after:5", date(2025, 7, 15))
    body = _last_mail(partner.email)
    assert "pague até 24/07/2025" in body
    dunning._send_notice(invoice, "after:5", date(2025, 8, 20))
    body = _last_mail(partner.email)
    assert "pague até" not in body and "estão bloqueados por falta de pagamento" in body
