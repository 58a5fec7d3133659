"""Dunning with time travel: the invoice notice, reminders before and after the due date (each
once), the non-payment block after N days, and payment lifting exactly those blocks."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from billing import services
from billing.dunning import notice_due, run_dunning
from billing.models import Invoice, InvoiceNotice
from billing.run import run_monthly_billing
from contracts import services as contracts
from partner.models import ContractStatus, Payer
from tests.factories import UserFactory


def travel(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


@pytest.fixture
def billed(db, partner, make_client):
    """June billed on July 1st: a partner invoice (A, B) and D's own invoice, both due July 10."""
    a = make_client(Payer.PARTNER)
    b = make_client(Payer.PARTNER)
    d = make_client(Payer.CLIENT)
    with travel(date(2025, 7, 1)):
        run_monthly_billing("2025-06")
    partner_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))
    client_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"client:{d.id}"))
    assert partner_invoice.due_date == client_invoice.due_date == date(2025, 7, 10)
    return {"a": a, "b": b, "d": d, "partner_invoice": partner_invoice, "client_invoice": client_invoice}


def notices(db, invoice):
    return sorted(db.session.scalars(select(InvoiceNotice.kind).where(InvoiceNotice.invoice_id == invoice.id)))


def dun_on(day: date):
    with travel(day):
        return run_dunning()


def test_reminders_are_sent_once_each_on_their_days(db, billed, partner, inbox, deliver_mail, config):
    config(BILLING_REMINDER_DAYS_BEFORE=3, BILLING_REMINDER_DAYS_AFTER=(1, 5), BILLING_BLOCK_AFTER_DAYS=15)
    invoice = billed["partner_invoice"]
    schedule = [
        (date(2025, 7, 1), ["issued"]),
        (date(2025, 7, 1), ["issued"]),  # the same day again: nothing new
        (date(2025, 7, 6), ["issued"]),
        (date(2025, 7, 7), ["before:3", "issued"]),
        (date(2025, 7, 9), ["before:3", "issued"]),
        (date(2025, 7, 10), ["before:3", "issued"]),  # due today: not overdue yet
        (date(2025, 7, 11), ["after:1", "before:3", "issued"]),
        (date(2025, 7, 14), ["after:1", "before:3", "issued"]),
        (date(2025, 7, 15), ["after:1", "after:5", "before:3", "issued"]),
        (date(2025, 7, 20), ["after:1", "after:5", "before:3", "issued"]),
    ]
    for day, expected in schedule:
        dun_on(day)
        assert notices(db, invoice) == expected, day
    deliver_mail()
    inbox.wait_for(8)  # 4 notices × 2 invoices
    subjects = [m["Subject"] for m in inbox.to(partner.email)]
    assert len(subjects) == 4
    assert subjects[0].startswith("Nova fatura") and "vence em 3 dia" in subjects[1]
    assert all("vencida" in s for s in subjects[2:])
    body = inbox.to(partner.email)[2].get_body(("plain",)).get_content()
    assert invoice.number in body and "R$" in body and "24/07/2025" in body  # pay by: the day before the block (due + 15)


def test_block_after_n_days_then_payment_unblocks_only_non_payment_blocks(
        db, billed, finance_user, inbox, deliver_mail, config):
    config(BILLING_BLOCK_AFTER_DAYS=15)
    a, b, d = billed["a"], billed["b"], billed["d"]
    invoice = billed["partner_invoice"]
    with travel(date(2025, 7, 20)):
        contracts.change_status(b, ContractStatus.BLOCKED, "manual", label="gestor")
    result = dun_on(date(2025, 7, 24))  # 14 days overdue
    assert result.blocked_clients == 0 and a.status == ContractStatus.ACTIVE
    result = dun_on(date(2025, 7, 25))  # 15 days overdue
    assert result.blocked_invoices == 2 and result.blocked_clients == 2  # a, and d on its own invoice
    assert (a.status, a.status_reason) == (ContractStatus.BLOCKED, "non_payment")
    assert (b.status, b.status_reason) == (ContractStatus.BLOCKED, "manual")
    assert (d.status, d.status_reason) == (ContractStatus.BLOCKED, "non_payment")
    assert "block" in notices(db, invoice)
    again = dun_on(date(2025, 7, 26))
    assert again.blocked_invoices == 0  # once

    second = UserFactory(role=finance_user.role)
    with travel(date(2025, 7, 27)):
        payment = services.record_manual_payment(invoice, "TED 998877", actor=finance_user)
        services.approve_manual_payment(payment, actor=second)
    assert (a.status, a.status_reason) == (ContractStatus.ACTIVE, None)
    assert (b.status, b.status_reason) == (ContractStatus.BLOCKED, "manual")  # never a manual block
    assert d.status == ContractStatus.BLOCKED  # its own invoice is still unpaid


def test_a_client_stays_blocked_while_another_overdue_invoice_covers_it(db, billed, make_client, config):
    config(BILLING_BLOCK_AFTER_DAYS=15)
    a = billed["a"]
    with travel(date(2025, 8, 1)):
        run_monthly_billing("2025-07")
    july = db.session.scalar(select(Invoice).where(Invoice.month == "2025-07",
                                                   Invoice.payer_key == billed["partner_invoice"].payer_key))
    dun_on(date(2025, 8, 26))  # both June and July invoices are 15+ days overdue
    assert a.status == ContractStatus.BLOCKED
    services.mark_paid(july, notify=False)
    assert a.status == ContractStatus.BLOCKED  # June is still owed
    with travel(date(2025, 8, 27)):
        services.mark_paid(billed["partner_invoice"], notify=False)
    assert a.status == ContractStatus.ACTIVE


def test_paid_invoices_get_no_reminders(db, billed):
    services.mark_paid(billed["client_invoice"], notify=False)
    dun_on(date(2025, 7, 11))
    assert notices(db, billed["client_invoice"]) == ["issued"]  # sent when issued; no reminder once paid


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 7, 1), "issued"), (date(2025, 7, 3), "before:7"), (date(2025, 7, 8), "before:3"),
    (date(2025, 7, 10), "before:3"), (date(2025, 7, 11), "after:1"), (date(2025, 7, 16), "after:5"),
    (date(2025, 8, 30), "after:5"),
])
def test_notice_due_picks_the_newest_reminder_of_the_phase(app, config, today, expected):
    config(BILLING_REMINDER_DAYS_BEFORE=(7, 3), BILLING_REMINDER_DAYS_AFTER=(1, 5))
    invoice = Invoice(due_date=date(2025, 7, 10))
    with app.app_context():
        assert notice_due(invoice, today) == expected


def test_dunning_task_runs_in_the_app(app, db, billed):
    from billing.tasks import dunning

    assert dunning.name == "billing.dunning"
    from billing.tasks import run_monthly

    assert run_monthly.name == "billing.run_monthly"
