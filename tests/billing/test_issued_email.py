"""The invoice e-mail leaves when the invoice is issued (issue 9), through the transactional outbox:
queued in the issuing transaction, delivered over SMTP, and not sent again by the daily pass."""

from datetime import timedelta

from sqlalchemy import func, select

from billing import services
from billing.dunning import run_dunning
from billing.models import Invoice, InvoiceNotice
from billing.run import Month, run_monthly_billing
from core.mail import OutboxEmail
from partner.models import Payer


def _last_month() -> str:
    return str(Month.of(services.local_today()).previous())


def test_the_monthly_run_sends_the_invoice_email_at_once(db, partner, make_client, inbox, deliver_mail):
    make_client(Payer.PARTNER)
    own = make_client(Payer.CLIENT, email="financeiro@padaria.example")
    run_monthly_billing(_last_month())
    invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert len(invoices) == 2
    assert deliver_mail() == 2  # already in the outbox, committed with the invoices
    inbox.wait_for(2)
    for invoice, to in zip(invoices, (partner.email, own.email), strict=True):
        [message] = inbox.to(to)
        assert message["Subject"] == f"Nova fatura {invoice.number} — Revenda"
        body = message.get_body(("plain",)).get_content()
        assert invoice.number in body and f"/faturas/{invoice.id}" in body
    # the daily pass finds the notice done: no second "Nova fatura" (a reminder may follow, on its day)
    run_dunning()
    subjects = db.session.scalars(select(OutboxEmail.subject)).all()
    assert len([s for s in subjects if s.startswith("Nova fatura")]) == 2
    assert db.session.scalar(select(func.count()).where(InvoiceNotice.kind == "issued")) == 2


def test_an_invoice_that_asks_for_nothing_sends_no_email(db, partner, make_client, plan, inbox, deliver_mail):
    plan.price_cents = 0
    make_client(Payer.CLIENT)
    run_monthly_billing(_last_month())
    assert db.session.scalar(select(Invoice.status)) == "paid"
    assert deliver_mail() == 0


def test_finalizing_a_draft_sends_the_invoice_email(db, partner, inbox, deliver_mail):
    today = services.local_today()
    invoice = services.create_draft(Payer.PARTNER, partner, str(Month.of(today)), today + timedelta(days=10))
    services.add_line(invoice, description="Serviço avulso", list_price_cents=5000, period_start=today,
                      period_end=today)
    assert deliver_mail() == 0  # a draft tells nobody
    services.finalize_invoice(invoice)
    assert deliver_mail() == 1
    [message] = inbox.wait_for(1)
    assert message["To"] == partner.email and invoice.number in message["Subject"]


def test_a_failed_run_batch_sends_nothing(db, partner, make_client, deliver_mail, monkeypatch):
    """The e-mail shares the batch's transaction: a batch rolled back leaves no message behind."""
    import pytest

    from billing import run

    make_client(Payer.PARTNER)

    def crash():
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(run, "_commit_batch", crash)
    with pytest.raises(RuntimeError):
        run_monthly_billing(_last_month())
    assert db.session.scalar(select(func.count(OutboxEmail.id))) == 0
    assert deliver_mail() == 0
