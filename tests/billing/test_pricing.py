import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.pricing import (
    PARTNER_DISCOUNT,
    InvoiceLineSnapshot,
    discount_cents,
    format_brl,
    line_for,
    price_for,
    prorate,
    prorate_span,
    totals,
)

prices = st.integers(min_value=0, max_value=10**9)
months = st.tuples(st.integers(min_value=1990, max_value=2100), st.integers(min_value=1, max_value=12))


def days_in(year, month):
    return calendar.monthrange(year, month)[1]


# --- partner discount -------------------------------------------------------


@given(prices)
def test_partner_discount_is_half_rounded_half_up(price):
    discount = discount_cents(price, "partner")
    expected = int((Decimal(price) * PARTNER_DISCOUNT).to_integral_value(rounding=ROUND_HALF_UP))
    assert discount == expected
    assert price_for(price, "partner") + discount == price
    assert 0 <= price_for(price, "partner") <= discount


@given(prices)
def test_client_payer_gets_no_discount(price):
    assert discount_cents(price, "client") == 0
    assert price_for(price, "client") == price


@pytest.mark.parametrize(
    ("price", "discount", "amount"),
    [(4999, 2500, 2499), (5000, 2500, 2500), (1, 1, 0), (3, 2, 1), (0, 0, 0)],
)
def test_partner_discount_examples(price, discount, amount):
    assert discount_cents(price, "partner") == discount
    assert price_for(price, "partner") == amount


def test_unknown_payer_is_rejected():
    with pytest.raises(ValueError):
        discount_cents(100, "reseller")


def test_non_integer_cents_are_rejected():
    with pytest.raises(TypeError):
        discount_cents(49.99, "partner")
    with pytest.raises(TypeError):
        format_brl(True)


# --- daily proration --------------------------------------------------------


@given(prices, months)
def test_full_month_is_exactly_the_monthly_price(price, ym):
    year, month = ym
    start = date(year, month, 1)
    end = date(year, month, days_in(year, month))
    assert prorate(price, start, end, (year, month)) == price


@given(prices, months, st.data())
def test_any_split_of_a_month_sums_to_the_monthly_price(price, ym, data):
    year, month = ym
    days = days_in(year, month)
    # Random cut points: each cut starts a new consecutive range.
    cuts = data.draw(st.sets(st.integers(min_value=2, max_value=days), max_size=days - 1))
    starts = [1, *sorted(cuts)]
    ends = [s - 1 for s in starts[1:]] + [days]
    pieces = [
        prorate(price, date(year, month, a), date(year, month, b), (year, month))
        for a, b in zip(starts, ends, strict=True)
    ]
    assert sum(pieces) == price
    assert all(p >= 0 for p in pieces)


@given(prices, months, st.data())
def test_prorated_days_are_close_to_the_exact_daily_rate(price, ym, data):
    year, month = ym
    days = days_in(year, month)
    a = data.draw(st.integers(min_value=1, max_value=days))
    b = data.draw(st.integers(min_value=a, max_value=days))
    charged = prorate(price, date(year, month, a), date(year, month, b), (year, month))
    exact = Decimal(price) * (b - a + 1) / days
    assert abs(charged - exact) <= 1


def test_prorate_examples():
    # 10 days of a 30-day month at R$ 100,00 -> R$ 33,33 / 33,34 / 33,33
    parts = [
        prorate(10000, date(2025, 6, 1), date(2025, 6, 10), (2025, 6)),
        prorate(10000, date(2025, 6, 11), date(2025, 6, 20), (2025, 6)),
        prorate(10000, date(2025, 6, 21), date(2025, 6, 30), (2025, 6)),
    ]
    assert parts == [3333, 3334, 3333]
    # February of a leap year has 29 days.
    assert prorate(2900, date(2024, 2, 29), date(2024, 2, 29), (2024, 2)) == 100
    # month defaults to period_start's month
    assert prorate(10000, date(2025, 6, 1), date(2025, 6, 30)) == 10000


def test_prorate_rejects_dates_outside_the_month_or_reversed():
    with pytest.raises(ValueError):
        prorate(10000, date(2025, 6, 30), date(2025, 7, 1), (2025, 6))
    with pytest.raises(ValueError):
        prorate(10000, date(2025, 6, 10), date(2025, 6, 9), (2025, 6))


@given(prices, st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)), st.integers(0, 400))
def test_prorate_span_equals_the_sum_of_its_months(price, start, length):
    end = start + timedelta(days=length)
    expected = 0
    d = start
    while d <= end:
        month_end = date(d.year, d.month, days_in(d.year, d.month))
        piece_end = min(month_end, end)
        expected += prorate(price, d, piece_end)
        d = piece_end + timedelta(days=1)
    assert prorate_span(price, start, end) == expected


def test_prorate_span_over_whole_months():
    assert prorate_span(4999, date(2025, 1, 1), date(2025, 3, 31)) == 3 * 4999


# --- lines and totals -------------------------------------------------------

line_inputs = st.tuples(
    prices,
    st.sampled_from(["partner", "client"]),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)),
    st.integers(0, 60),
)


@given(st.lists(line_inputs, max_size=20))
def test_totals_equal_the_sum_of_lines(inputs):
    lines = [
        line_for(
            plan_id=i,
            plan_name=f"Plano {i}",
            monthly_price_cents=price,
            payer=payer,
            period_start=start,
            period_end=start + timedelta(days=length),
        )
        for i, (price, payer, start, length) in enumerate(inputs)
    ]
    t = totals(lines)
    assert t.amount_cents == sum(line.amount_cents for line in lines)
    assert t.discount_cents == sum(line.discount_cents for line in lines)
    assert t.list_price_cents == sum(line.list_price_cents for line in lines)
    assert t.list_price_cents - t.discount_cents == t.amount_cents
    for line in lines:
        assert line.amount_cents + line.discount_cents == line.list_price_cents


def test_line_for_full_month_partner():
    line = line_for(
        plan_id=7,
        plan_name="NFC-e Mensal",
        monthly_price_cents=4999,
        payer="partner",
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 31),
    )
    assert line == InvoiceLineSnapshot(
        plan_id=7,
        plan_name="NFC-e Mensal",
        list_price_cents=4999,
        discount_cents=2500,
        amount_cents=2499,
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 31),
        description="NFC-e Mensal — 01/03/2025 a 31/03/2025 (desconto de parceiro 50%)",
    )


def test_line_for_partial_month_client_with_custom_description():
    line = line_for(
        plan_id="p1",
        plan_name="NF-e",
        monthly_price_cents=3000,
        payer="client",
        period_start=date(2025, 4, 16),
        period_end=date(2025, 4, 30),
        description="Ativação em 16/04",
    )
    assert (line.list_price_cents, line.discount_cents, line.amount_cents) == (1500, 0, 1500)
    assert line.description == "Ativação em 16/04"


def test_snapshot_rejects_inconsistent_amounts():
    with pytest.raises(ValueError):
        InvoiceLineSnapshot(1, "x", 100, 10, 80, date(2025, 1, 1), date(2025, 1, 31), "x")


# --- formatting -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "R$ 0,00"),
        (5, "R$ 0,05"),
        (123456, "R$ 1.234,56"),
        (100000000, "R$ 1.000.000,00"),
        (-123456, "-R$ 1.234,56"),
    ],
)
def test_format_brl(cents, text):
    assert format_brl(cents) == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_brl_round_trips(cents):
    text = format_brl(cents)
    assert "\u00a0" not in text
    sign = -1 if text.startswith("-") else 1
    digits = text.removeprefix("-").removeprefix("R$ ").replace(".", "").replace(",", "")
    assert sign * int(digits) == cents


# --- negative amounts (credits), integer results, messages -------------------

signed_prices = st.integers(min_value=-(10**9), max_value=10**9)


@pytest.mark.parametrize(
    ("price", "discount", "amount"),
    [(-4999, -2500, -2499), (-5000, -2500, -2500), (-1, -1, 0), (-3, -2, -1)],
)
def test_partner_discount_on_a_credit_rounds_half_away_from_zero(price, discount, amount):
    assert discount_cents(price, "partner") == discount
    assert price_for(price, "partner") == amount


@given(signed_prices)
def test_a_credit_is_priced_as_the_mirror_of_a_charge(price):
    assert discount_cents(-price, "partner") == -discount_cents(price, "partner")
    assert price_for(-price, "partner") == -price_for(price, "partner")
    assert price_for(-price, "client") == -price


def test_prorating_a_credit_mirrors_the_charge():
    parts = [
        prorate(-10000, date(2025, 6, 1), date(2025, 6, 10)),
        prorate(-10000, date(2025, 6, 11), date(2025, 6, 20)),
        prorate(-10000, date(2025, 6, 21), date(2025, 6, 30)),
    ]
    assert parts == [-3333, -3334, -3333]
    assert prorate_span(-3100, date(2025, 1, 31), date(2025, 2, 1)) == -100 - 111


@given(signed_prices, st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)), st.integers(0, 70),
       st.sampled_from(["partner", "client"]))
def test_every_result_is_an_int_number_of_centavos(price, start, length, payer):
    end = start + timedelta(days=length)
    results = [discount_cents(price, payer), price_for(price, payer), prorate_span(price, start, end)]
    if start.month == end.month and start.year == end.year:
        results.append(prorate(price, start, end))
    line = line_for(plan_id=1, plan_name="P", monthly_price_cents=price, payer=payer, period_start=start,
                    period_end=end)
    t = totals([line, line])
    results += [line.list_price_cents, line.discount_cents, line.amount_cents,
                t.list_price_cents, t.discount_cents, t.amount_cents]
    assert [type(value) for value in results] == [int] * len(results)


def test_rounding_helper_refuses_a_non_positive_denominator_and_divides_by_one():
    from billing.pricing import _div_round_half_up

    for denominator in (0, -2):
        with pytest.raises(ValueError, match="^denominator must be positive$"):
            _div_round_half_up(7, denominator)
    assert _div_round_half_up(7, 1) == 7
    assert _div_round_half_up(-7, 1) == -7
    assert _div_round_half_up(-5, 2) == -3  # -2.5 rounds away from zero


def test_errors_name_the_bad_argument():
    with pytest.raises(ValueError, match=r"^payer must be one of \['client', 'partner'\], got 'reseller'$"):
        discount_cents(100, "reseller")
    with pytest.raises(TypeError, match="^list_price_cents must be an int number of centavos, got float$"):
        discount_cents(49.99, "partner")
    with pytest.raises(TypeError, match="^monthly_cents must be an int number of centavos, got str$"):
        prorate("100", date(2025, 6, 1), date(2025, 6, 2))
    with pytest.raises(TypeError, match="^cents must be an int number of centavos, got bool$"):
        format_brl(True)
    with pytest.raises(ValueError, match="^period_end 2025-06-09 is before period_start 2025-06-10$"):
        prorate(10000, date(2025, 6, 10), date(2025, 6, 9))
    with pytest.raises(ValueError, match="^2025-07-01 is outside month 2025-06$"):
        prorate(10000, date(2025, 6, 30), date(2025, 7, 1), (2025, 6))
    with pytest.raises(ValueError, match="^period_end 2025-06-09 is before period_start 2025-07-10$"):
        prorate_span(10000, date(2025, 7, 10), date(2025, 6, 9))
    with pytest.raises(ValueError, match="^amount_cents must equal list_price_cents - discount_cents$"):
        InvoiceLineSnapshot(1, "x", 100, 10, 80, date(2025, 1, 1), date(2025, 1, 31), "x")
    with pytest.raises(ValueError, match="^period_end is before period_start$"):
        InvoiceLineSnapshot(1, "x", 100, 10, 90, date(2025, 1, 2), date(2025, 1, 1), "x")
