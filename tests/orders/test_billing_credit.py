"""The partner credit on the next invoice: a cancelled order's credit becomes a credit line (never
more than the invoice's charges), orders charged "on the next invoice" a charge line; the ledger
rows settle what the invoice took, so a second run moves nothing."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from billing import ledger
from billing.models import CreditKind, Invoice
from billing.run import Month, run_monthly_billing
from orders import services
from partner.models import ContractStatus, Payer
from tests.factories import ClientFactory
from tests.orders.helpers import order_data

LONG_AGO = datetime.now(UTC) - timedelta(days=800)


def _partner_invoice(db, partner, month):
    return db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}",
                                                   Invoice.month == str(month)))


def test_cancelled_order_credit_appears_on_the_next_invoice(db, partner, plan, service):
    paying = ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER, status=ContractStatus.ACTIVE,
                           created_at=LONG_AGO)
    ledger.post(partner.id, 100_000, CreditKind.ADJUSTMENT, "saldo anterior")
    order = services.place_order(partner, order_data(paying, service, payment="balance"))
    assert order.status == services.S.AWAITING_DOCUMENTATION
    services.cancel_order(order)
    assert ledger.balance(partner.id) == 100_000
    month = Month.of(services.local_today()).previous()
    db.session.commit()
    run_monthly_billing(month)
    invoice = _partner_invoice(db, partner, month)
    lines = {line.description.split(" — ")[0]: line.amount_cents for line in invoice.lines}
    assert lines["Pedidos de serviços"] == order.amount_cents
    assert lines["Créditos (pedidos cancelados, ajustes)"] == -(100_000 + order.amount_cents)
    plan_charges = sum(v for k, v in lines.items() if k.startswith(paying.legal_name))
    assert invoice.total_cents == max(plan_charges - 100_000, 0) == sum(lines.values())
    assert ledger.balance(partner.id) == max(100_000 - plan_charges, 0)
    run_monthly_billing(month.next(), today=month.next().first_day)
    following = _partner_invoice(db, partner, month.next())
    assert "Pedidos de serviços" not in {line.description.split(" — ")[0] for line in following.lines}


def test_orders_charged_on_the_next_invoice(db, partner, plan, service):
    client = ClientFactory(partner=partner, plan=plan, payer=Payer.CLIENT, created_at=LONG_AGO)
    order = services.place_order(partner, order_data(client, service, payment="invoice"))
    month = Month.of(services.local_today()).previous()
    db.session.commit()
    run_monthly_billing(month)
    invoice = _partner_invoice(db, partner, month)
    assert [(line.description.split(" — ")[0], line.amount_cents) for line in invoice.lines] \
        == [("Pedidos de serviços", order.amount_cents)]
    assert invoice.total_cents == order.amount_cents
    assert ledger.balance(partner.id) == 0
    run_monthly_billing(month)  # a rerun: nothing moves twice
    assert ledger.balance(partner.id) == 0
