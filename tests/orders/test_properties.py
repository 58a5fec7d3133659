"""Property tests: proration sums right for any term and day; the ledger's balance is the sum of its
rows after any sequence of orders, cancellations, storage purchases and invoices."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from billing import ledger
from billing.models import CreditKind, PartnerCreditEntry
from billing.run import Month, run_monthly_billing
from orders import pricing, services
from tests.factories import ClientFactory, PartnerFactory
from tests.orders.helpers import make_service, order_data

starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))


@given(start=starts, months=st.sampled_from([1, 6, 12, 24, 36]), offset=st.integers(0, 2000),
       full=st.integers(0, 10_000_000))
def test_proration_splits_the_term_price_exactly(start, months, offset, full):
    renews = pricing.add_months(start, months)
    days = (renews - start).days
    day = start + timedelta(days=offset % (days + 1))
    charged = pricing.prorated_cents(full, start, renews, day)
    used = pricing.used_cents(full, start, renews, day)
    assert charged + used == full
    assert 0 <= charged <= full
    assert pricing.prorated_cents(full, start, renews, start) == full
    assert pricing.prorated_cents(full, start, renews, renews) == 0
    later = min(day + timedelta(days=1), renews)
    assert pricing.prorated_cents(full, start, renews, later) <= charged  # never more for fewer days


@given(start=starts, months=st.integers(1, 60), cut=st.integers(0, 1900), units=st.integers(1, 50),
       monthly=st.integers(0, 100_000))
def test_two_purchases_split_at_any_day_add_up(start, months, cut, units, monthly):
    renews = pricing.add_months(start, months)
    full = pricing.full_term_cents(monthly, units, months)
    day = start + timedelta(days=cut % ((renews - start).days + 1))
    first_part = full - pricing.prorated_cents(full, start, renews, day)
    assert first_part + pricing.prorated_cents(full, start, renews, day) == full


OPS = st.lists(st.sampled_from(["order_invoice", "order_balance", "cancel", "credit", "storage", "bill"]),
               min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_balance_is_the_sum_of_rows_after_any_sequence(db, ops):
    partner = PartnerFactory()
    client = ClientFactory(partner=partner)
    service = make_service(name=f"Arquivo {partner.id}")
    orders = []
    month = Month.of(services.local_today())
    for op in ops:
        if op in ("order_invoice", "order_balance"):
            orders.append(services.place_order(partner, order_data(client, service,
                                                                   payment=op.removeprefix("order_"))))
        elif op == "cancel" and orders:
            order = orders.pop()
            if order.status in services.CANCELLABLE:
                services.cancel_order(order)
        elif op == "credit":
            ledger.post(partner.id, 50_000, CreditKind.ADJUSTMENT, "teste")
        elif op == "bill":
            month = month.next()
            db.session.commit()
            run_monthly_billing(month, today=month.first_day)
        rows = db.session.scalar(select(func.sum(PartnerCreditEntry.amount_cents))
                                 .where(PartnerCreditEntry.partner_id == partner.id)) or 0
        assert ledger.balance(partner.id) == rows
