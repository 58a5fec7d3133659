"""orders/pricing.py on exact examples (the property tests cover the sums; these pin each line, the
renewal date and the refusals). Pinned for `make mutation`."""

from datetime import date, timedelta

import pytest

from orders.pricing import add_months, days_left, full_term_cents, order_summary, prorated_cents, used_cents

TODAY = date.today()


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2030, 1, 31), 1, date(2030, 2, 28)), (date(2032, 1, 31), 1, date(2032, 2, 29)),
    (date(2030, 11, 15), 2, date(2031, 1, 15)), (date(2030, 3, 10), 12, date(2031, 3, 10)),
    (date(2030, 12, 31), 36, date(2033, 12, 31)), (date(2030, 5, 20), 0, date(2030, 5, 20)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_days_left_counts_to_the_renewal_and_stops_at_zero():
    assert days_left(TODAY + timedelta(days=3), TODAY) == 3
    assert days_left(TODAY, TODAY) == 0
    assert days_left(TODAY, TODAY + timedelta(days=5)) == 0


def test_full_term_and_the_names_in_refusals():
    assert full_term_cents(1_990, 3, 12) == 71_640
    with pytest.raises(TypeError, match=r"^monthly_cents must be an int"):
        full_term_cents(19.9, 1, 12)
    with pytest.raises(TypeError, match=r"^full_cents must be an int"):
        used_cents(1.5, TODAY, TODAY + timedelta(days=10), TODAY)
    with pytest.raises(TypeError, match=r"^term_price_cents must be an int"):
        order_summary(service_name="X", months=12, term_price_cents="100", kit_gb=0, kit_monthly_cents=0,
                      addons=[], today=TODAY)


def test_a_term_must_last_at_least_a_day():
    with pytest.raises(ValueError, match=r"^renews_at must be after term_start$"):
        used_cents(100, TODAY, TODAY, TODAY)
    with pytest.raises(ValueError, match=r"^renews_at must be after term_start$"):
        used_cents(100, TODAY, TODAY - timedelta(days=1), TODAY)
    tomorrow = TODAY + timedelta(days=1)
    assert used_cents(100, TODAY, tomorrow, TODAY) == 0
    assert used_cents(100, TODAY, tomorrow, tomorrow) == 100
    assert prorated_cents(100, TODAY, tomorrow, TODAY) == 100


def test_the_summary_line_by_line():
    summary = order_summary(service_name="Armazenamento XML", months=12, term_price_cents=120_000, kit_gb=10,
                            kit_monthly_cents=500, addons=[("user", "Usuário extra", 2, 300),
                                                           ("gb", "GB extra", 1, 100), ("none", "Nada", 0, 999)],
                            today=TODAY)
    assert [line.as_dict() for line in summary.lines] == [
        {"code": "term", "description": "Armazenamento XML — 12 meses", "quantity": 1, "unit_cents": 120_000,
         "amount_cents": 120_000},
        {"code": "kit", "description": "Starter kit 10 GB — 12 meses", "quantity": 1, "unit_cents": 6_000,
         "amount_cents": 6_000},
        {"code": "addon:user", "description": "Usuário extra — 12 meses", "quantity": 2, "unit_cents": 3_600,
         "amount_cents": 7_200},
        {"code": "addon:gb", "description": "GB extra — 12 meses", "quantity": 1, "unit_cents": 1_200,
         "amount_cents": 1_200},
    ]
    assert summary.total_cents == 134_400
    assert summary.term_start == TODAY and summary.renews_at == add_months(TODAY, 12)
    assert summary.snapshot() == {
        "lines": [line.as_dict() for line in summary.lines], "total_cents": 134_400,
        "term_start": TODAY.isoformat(), "renews_at": add_months(TODAY, 12).isoformat()}


def test_no_kit_no_kit_line():
    summary = order_summary(service_name="S", months=24, term_price_cents=100, kit_gb=0, kit_monthly_cents=500,
                            addons=[], today=TODAY)
    assert [line.code for line in summary.lines] == ["term"]
