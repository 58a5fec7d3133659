"""The invoice PDF: a real PDF, in Portuguese, with issuer, payer (CNPJ, address), lines with list
price and discount, totals, due date and the boleto line when there is one; never cached."""

from datetime import UTC, date, datetime

import pytest
from pdftext import pdf_text
from sqlalchemy import select

from billing import gateway as gw
from billing import services
from billing.models import Invoice
from billing.pricing import format_brl
from billing.run import run_monthly_billing
from core.validators import format_cnpj
from partner.models import Payer


@pytest.fixture
def invoice(db, partner, make_client, plan):
    make_client(Payer.PARTNER, legal_name="Padaria Pão Quente Ltda")
    make_client(Payer.PARTNER, legal_name="Mercado Bom Preço Ltda")
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    return db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))


def test_pdf_has_the_invoice_facts(db, invoice, partner, plan, login_as, manager):
    response = login_as(manager).get(f"/faturas/{invoice.id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"].startswith("private, no-store")
    assert f"fatura-{invoice.number}.pdf" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"%PDF-") and len(data) > 5000
    text = pdf_text(data)
    for expected in (
        f"Fatura {invoice.number}", partner.legal_name, format_cnpj(partner.cnpj), partner.city, "CEP 01310-100",
        "Padaria Pão Quente Ltda", "Mercado Bom Preço Ltda", format_brl(plan.price_cents),
        format_brl(-(plan.price_cents // 2)), "Total a pagar", format_brl(invoice.total_cents),
        "Vencimento", "10/07/2025", "EMITENTE", "PAGADOR", "06/2025",
    ):
        assert expected in text, expected


def test_pdf_shows_the_boleto_line(db, invoice, app, monkeypatch):
    boleto = services.record_boleto(invoice, gw.BoletoResult(
        payment_intent_id="pi_pdf_1", amount_cents=invoice.total_cents, number="23793381286000000001234567890123456",
        hosted_voucher_url=None, pdf_url=None, expires_at=datetime(2099, 1, 1, tzinfo=UTC)))
    from billing.pdf import render_invoice_pdf

    text = pdf_text(render_invoice_pdf(invoice))
    assert boleto.number in text and "BOLETO BANCÁRIO" in text


def test_pdf_of_a_self_paying_client_names_the_client(db, make_client, login_as):
    from core.permissions import Role
    from tests.factories import UserFactory

    own = make_client(Payer.CLIENT, legal_name="Oficina Roda Viva ME")
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    invoice = db.session.scalar(select(Invoice).where(Invoice.client_id == own.id))
    user = UserFactory(role=Role.CLIENT, email=own.email, client_id=own.id)
    response = login_as(user).get(f"/faturas/{invoice.id}/pdf")
    assert response.status_code == 200
    text = pdf_text(response.get_data())
    assert "Oficina Roda Viva ME" in text and format_cnpj(own.cnpj) in text
    assert "R$ 0,00" in text  # no discount when the client pays
