"""The monthly billing run: lines, the partner discount, trials, proration, payers, due dates,
idempotency and crash-and-rerun (no duplicate, no gap)."""

from datetime import date

import pytest
from billing_helpers import at
from sqlalchemy import func, select

from billing import run as billing_run
from billing.models import Invoice, InvoiceLine, InvoiceSequence, InvoiceStatus, LineKind
from billing.run import Month, run_monthly_billing
from core.audit import AuditEvent
from core.validators import ValidationError
from partner.models import ContractStatus, Payer
from tests.factories import PartnerFactory

JUNE = Month(2025, 6)
RUN_DAY = date(2025, 7, 1)


def run(month=JUNE, **kwargs):
    return run_monthly_billing(month, today=RUN_DAY, **kwargs)


def invoices(db, **where):
    return db.session.scalars(select(Invoice).filter_by(**where).order_by(Invoice.number)).all()


def test_partner_invoice_consolidates_its_clients_with_the_discount(db, partner, make_client, priced_plans):
    bronze, diamante = priced_plans
    a = make_client(Payer.PARTNER, plan_=bronze)
    b = make_client(Payer.PARTNER, plan_=diamante)
    result = run()
    [invoice] = invoices(db, payer_key=f"partner:{partner.id}")
    assert result.invoices_created == 1
    assert invoice.payer == Payer.PARTNER and invoice.client_id is None and invoice.partner_id == partner.id
    assert invoice.status == InvoiceStatus.OPEN and invoice.month == "2025-06"
    lines = {line.client_id: line for line in invoice.lines}
    assert set(lines) == {a.id, b.id}
    assert (lines[a.id].list_price_cents, lines[a.id].discount_cents, lines[a.id].amount_cents) == (4990, 2495, 2495)
    assert (lines[b.id].list_price_cents, lines[b.id].discount_cents, lines[b.id].amount_cents) == (19990, 9995, 9995)
    assert lines[a.id].period_start == date(2025, 6, 1) and lines[a.id].period_end == date(2025, 6, 30)
    assert lines[a.id].plan_id == bronze.id and a.legal_name in lines[a.id].description
    assert invoice.total_cents == 2495 + 9995 == sum(line.amount_cents for line in invoice.lines)


def test_odd_price_discount_rounds_half_up(db, partner, make_client, priced_plans):
    odd = priced_plans[0]
    odd.price_cents = 4999
    make_client(Payer.PARTNER, plan_=odd)
    run()
    [line] = invoices(db)[0].lines
    assert (line.list_price_cents, line.discount_cents, line.amount_cents) == (4999, 2500, 2499)


def test_self_paying_client_gets_its_own_invoice_at_full_price(db, partner, make_client, plan):
    mine = make_client(Payer.PARTNER)
    own = make_client(Payer.CLIENT)
    run()
    partner_invoice = invoices(db, payer_key=f"partner:{partner.id}")[0]
    [client_invoice] = invoices(db, payer_key=f"client:{own.id}")
    assert [line.client_id for line in partner_invoice.lines] == [mine.id]
    assert client_invoice.payer == Payer.CLIENT and client_invoice.client_id == own.id
    assert client_invoice.partner_id == partner.id
    assert client_invoice.total_cents == plan.price_cents
    assert client_invoice.lines[0].discount_cents == 0


@pytest.mark.parametrize("status", [ContractStatus.TRIAL, ContractStatus.CANCELLED])
def test_trials_and_cancelled_contracts_are_not_billed(db, make_client, status):
    make_client(Payer.CLIENT, status)
    make_client(Payer.PARTNER, status)
    assert run().invoices_created == 0
    assert invoices(db) == []


def test_blocks_other_than_non_payment_are_not_billed(db, make_client):
    owed = make_client(Payer.CLIENT, ContractStatus.BLOCKED, status_reason="non_payment")
    make_client(Payer.CLIENT, ContractStatus.BLOCKED, status_reason="manual")
    make_client(Payer.CLIENT, ContractStatus.BLOCKED, status_reason="trial_ended")
    run()
    assert [i.client_id for i in invoices(db)] == [owed.id]


def test_client_created_mid_month_without_history_is_prorated_from_creation(db, make_client, plan):
    client = make_client(Payer.CLIENT, created_at=at(date(2025, 6, 16)))
    make_client(Payer.CLIENT, created_at=at(date(2025, 7, 1)))  # after the month: not billed
    run()
    [invoice] = invoices(db)
    [line] = invoice.lines
    assert invoice.client_id == client.id
    assert (line.period_start, line.period_end) == (date(2025, 6, 16), date(2025, 6, 30))
    assert line.amount_cents == round(plan.price_cents * 15 / 30)


def test_activation_after_trial_mid_month_is_prorated(db, make_client, contract_event, plan):
    client = make_client(Payer.CLIENT, ContractStatus.ACTIVE)
    contract_event(client, "status", "trial", "active", at(date(2025, 6, 11)))
    run()
    [line] = invoices(db)[0].lines
    assert (line.period_start, line.period_end) == (date(2025, 6, 11), date(2025, 6, 30))
    assert line.amount_cents == round(plan.price_cents * 20 / 30)


def test_cancellation_mid_month_bills_until_the_day_before(db, make_client, contract_event, plan):
    client = make_client(Payer.PARTNER, ContractStatus.CANCELLED)
    contract_event(client, "status", "active", "cancelled", at(date(2025, 6, 21)), reason="client_request")
    run()
    [line] = invoices(db)[0].lines
    assert (line.period_start, line.period_end) == (date(2025, 6, 1), date(2025, 6, 20))
    prorated = round(plan.price_cents * 20 / 30)
    assert line.list_price_cents == prorated and line.discount_cents == (prorated + 1) // 2


def test_upgrade_mid_month_adds_a_charge_line_for_the_difference(db, make_client, contract_event, priced_plans):
    bronze, diamante = priced_plans
    client = make_client(Payer.CLIENT, plan_=diamante)
    contract_event(client, "plan", bronze.id, diamante.id, at(date(2025, 6, 16)))
    run()
    invoice = invoices(db)[0]
    base, change = invoice.lines
    assert (base.plan_id, base.period_start, base.period_end, base.amount_cents) == (
        bronze.id, date(2025, 6, 1), date(2025, 6, 30), 4990)
    assert change.kind == LineKind.CHARGE and change.plan_id == diamante.id
    assert (change.period_start, change.period_end) == (date(2025, 6, 16), date(2025, 6, 30))
    assert change.amount_cents == (19990 - 4990) // 2  # 15 of 30 days at the difference
    # The total is exactly 15 days of each plan.
    assert invoice.total_cents == 4990 // 2 + 19990 // 2


def test_downgrade_mid_month_adds_a_credit_line(db, make_client, contract_event, priced_plans):
    bronze, diamante = priced_plans
    client = make_client(Payer.PARTNER, plan_=bronze)
    contract_event(client, "plan", diamante.id, bronze.id, at(date(2025, 6, 11)))
    run()
    invoice = invoices(db)[0]
    base, credit = invoice.lines
    assert base.plan_id == diamante.id and base.amount_cents == 9995
    assert credit.kind == LineKind.CREDIT and credit.amount_cents < 0
    assert credit.list_price_cents == round(4990 * 20 / 30) - round(19990 * 20 / 30)
    assert credit.amount_cents == credit.list_price_cents - credit.discount_cents
    assert invoice.total_cents == base.amount_cents + credit.amount_cents > 0
    assert "Crédito" in credit.description


def test_payer_change_mid_month_splits_between_partner_and_client(db, partner, make_client, contract_event, plan):
    client = make_client(Payer.CLIENT)
    contract_event(client, "payer", "partner", "client", at(date(2025, 6, 16)))
    run()
    [partner_line] = invoices(db, payer_key=f"partner:{partner.id}")[0].lines
    [client_line] = invoices(db, payer_key=f"client:{client.id}")[0].lines
    assert (partner_line.period_start, partner_line.period_end) == (date(2025, 6, 1), date(2025, 6, 15))
    assert (client_line.period_start, client_line.period_end) == (date(2025, 6, 16), date(2025, 6, 30))
    assert partner_line.list_price_cents + client_line.list_price_cents == plan.price_cents
    assert client_line.discount_cents == 0 and partner_line.discount_cents > 0


def test_changes_after_the_month_are_undone_to_find_the_month(db, make_client, contract_event, priced_plans):
    bronze, diamante = priced_plans
    client = make_client(Payer.CLIENT, ContractStatus.CANCELLED, plan_=diamante)
    contract_event(client, "plan", bronze.id, diamante.id, at(date(2025, 7, 3)))
    contract_event(client, "status", "active", "cancelled", at(date(2025, 7, 20)), reason="client_request")
    run()
    [line] = invoices(db)[0].lines
    assert line.plan_id == bronze.id and line.amount_cents == 4990


def test_blocked_for_non_payment_mid_month_keeps_billing_but_manual_block_stops(db, make_client, contract_event):
    owed = make_client(Payer.CLIENT, ContractStatus.BLOCKED, status_reason="non_payment")
    contract_event(owed, "status", "active", "blocked", at(date(2025, 6, 16)), reason="non_payment")
    manual = make_client(Payer.CLIENT, ContractStatus.BLOCKED, status_reason="manual")
    contract_event(manual, "status", "active", "blocked", at(date(2025, 6, 16)), reason="manual")
    run()
    by_client = {i.client_id: i.lines for i in invoices(db)}
    assert [(line.period_start, line.period_end) for line in by_client[owed.id]] == [(date(2025, 6, 1), date(2025, 6, 30))]
    assert [(line.period_start, line.period_end) for line in by_client[manual.id]] == [(date(2025, 6, 1), date(2025, 6, 15))]


def test_due_date_is_configurable(db, make_client, config):
    make_client(Payer.CLIENT)
    config(BILLING_DUE_DAY=15)
    run()
    assert invoices(db)[0].due_date == date(2025, 7, 15)


def test_due_date_defaults_to_day_10_of_the_next_month(db, make_client):
    make_client(Payer.CLIENT)
    run()
    assert invoices(db)[0].due_date == date(2025, 7, 10)


def test_late_run_still_gives_days_to_pay(db, make_client):
    make_client(Payer.CLIENT)
    run_monthly_billing(JUNE, today=date(2025, 7, 20))
    assert invoices(db)[0].due_date == date(2025, 7, 23)


def test_numbers_are_sequential_per_year(db, make_client):
    for _ in range(5):
        make_client(Payer.CLIENT)
    result = run()
    numbers = [i.number for i in invoices(db)]
    last = db.session.get(InvoiceSequence, 2025).last_number
    assert numbers == [f"2025-{n:06d}" for n in range(last - 4, last + 1)]
    assert (result.first_number, result.last_number) == (numbers[0], numbers[-1])


def test_the_run_records_an_audit_event_per_invoice_and_one_for_the_run(db, make_client):
    client = make_client(Payer.CLIENT)
    run()
    invoice = invoices(db)[0]
    issued = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.issued",
                                                         AuditEvent.object_id == invoice.id)).all()
    assert len(issued) == 1 and issued[0].client_id == client.id
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "billing.run")) >= 1


def test_running_twice_creates_nothing_new(db, make_client, partner):
    for payer in (Payer.PARTNER, Payer.PARTNER, Payer.CLIENT):
        make_client(payer)
    first = run()
    before = db.session.scalar(select(InvoiceSequence.last_number).where(InvoiceSequence.year == 2025))
    second = run()
    assert first.invoices_created == 2 and second.invoices_created == 0 and second.invoices_skipped == 2
    assert db.session.scalar(select(InvoiceSequence.last_number).where(InvoiceSequence.year == 2025)) == before
    assert db.session.scalar(select(func.count(Invoice.id))) == 2


def test_unique_payer_month_is_a_database_constraint(db, make_client):
    from sqlalchemy.exc import IntegrityError

    from billing.services import create_draft

    client = make_client(Payer.CLIENT)
    create_draft(Payer.CLIENT, client, "2025-06", date(2025, 7, 10))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        create_draft(Payer.CLIENT, client, "2025-06", date(2025, 7, 10))


def test_crash_half_way_then_rerun_leaves_no_duplicate_and_no_gap(db, monkeypatch):
    partners = [PartnerFactory() for _ in range(6)]
    from tests.factories import ClientFactory, PlanFactory

    plan = PlanFactory(price_cents=10000)
    for p in partners:
        for payer in (Payer.PARTNER, Payer.CLIENT):
            ClientFactory(partner=p, plan=plan, payer=payer, created_at=at(date(2024, 1, 1)))
    start = db.session.scalar(select(InvoiceSequence.last_number).where(InvoiceSequence.year == 2025)) or 0

    commits = {"n": 0}
    real_commit = billing_run._commit_batch

    def flaky_commit():
        commits["n"] += 1
        if commits["n"] == 3:
            raise RuntimeError("worker killed")
        real_commit()

    monkeypatch.setattr(billing_run, "_commit_batch", flaky_commit)
    with pytest.raises(RuntimeError):
        run(batch_size=4)  # 2 partners (4 clients) per batch
    done = db.session.scalar(select(func.count(Invoice.id)))
    assert 0 < done < 12  # the first two batches stayed, the third was rolled back
    assert db.session.get(InvoiceSequence, 2025).last_number == start + done  # its numbers too
    monkeypatch.setattr(billing_run, "_commit_batch", real_commit)
    result = run(batch_size=4)
    assert result.invoices_created == 12 - done and result.invoices_skipped == done
    numbers = sorted(int(n.split("-")[1]) for n in db.session.scalars(select(Invoice.number)))
    assert numbers == list(range(start + 1, start + 13))
    keys = db.session.scalars(select(Invoice.payer_key)).all()
    assert len(keys) == len(set(keys)) == 12
    assert db.session.get(InvoiceSequence, 2025).last_number == start + 12


def test_partner_never_straddles_two_batches(db):
    from tests.factories import ClientFactory, PlanFactory

    plan = PlanFactory(price_cents=1000)
    big, small = PartnerFactory(), PartnerFactory()
    for _ in range(7):
        ClientFactory(partner=big, plan=plan, payer=Payer.PARTNER, created_at=at(date(2024, 1, 1)))
    ClientFactory(partner=small, plan=plan, payer=Payer.PARTNER, created_at=at(date(2024, 1, 1)))
    run(batch_size=3)
    [invoice] = invoices(db, payer_key=f"partner:{big.id}")
    assert len(invoice.lines) == 7 and invoice.total_cents == 7 * 500


def test_month_parsing():
    assert str(Month.parse("2025-06")) == "2025-06"
    for bad in ("2025-13", "25-06", "2025/06", "", "junho"):
        with pytest.raises(ValidationError):
            Month.parse(bad)


def test_default_month_is_the_previous_one(db, make_client):
    make_client(Payer.CLIENT)
    result = run_monthly_billing(today=date(2025, 1, 1))
    assert result.month == "2024-12"
    assert invoices(db)[0].number.startswith("2025-")  # numbered in the year of issue


def test_lines_table_has_one_row_per_line(db, make_client):
    make_client(Payer.PARTNER)
    make_client(Payer.PARTNER)
    result = run()
    assert result.lines_created == db.session.scalar(select(func.count(InvoiceLine.id))) == 2


def test_cli_runs_the_month_and_prints_progress(app, db, make_client):
    make_client(Payer.CLIENT)
    make_client(Payer.PARTNER)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["billing", "run", "--month", "2025-06", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "lote 1:" in result.output and "Faturamento 2025-06: 2 faturas emitidas" in result.output
    again = runner.invoke(args=["billing", "run", "--month", "2025-06"])
    assert "0 faturas emitidas" in again.output and "2 já existiam" in again.output
    bad = runner.invoke(args=["billing", "run", "--month", "junho"])
    assert bad.exit_code != 0 and "AAAA-MM" in bad.output


def test_cli_dunning(app, db, make_client):
    make_client(Payer.CLIENT)
    run()
    result = app.test_cli_runner().invoke(args=["billing", "dunning"])
    assert result.exit_code == 0 and "Avisos:" in result.output
