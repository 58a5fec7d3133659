"""Pure pricing rules for Revenda invoices.

All money is handled as integer centavos (``int``).  Nothing here touches the
database, Flask or the payment gateway: services call these functions and
persist the resulting :class:`InvoiceLineSnapshot` values as they are, so an
invoice never changes when a plan's price changes later.

Rules
-----
* Partner discount (``partner.pricing``, the catalogue's rule, re-exported here):
  when the payer is the partner (reseller) instead of the end client, the
  partner pays half the list price.  The *discount* is what is
  rounded half-up to the centavo; the amount is ``price - discount``
  (4999 -> discount 2500, amount 2499), so ``amount + discount == price``
  always holds.
* Daily proration: a period inside a month is charged by day using
  cumulative rounding, ``cum(k) = round_half_up(monthly * k / days_in_month)``
  and ``charge([a, b]) = cum(b) - cum(a - 1)``.  Consecutive ranges therefore
  telescope: however a month is split, the pieces add up to exactly the
  monthly price, and the full month is exactly the monthly price.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from core.money import check_cents as _check_cents
from core.money import div_round_half_up as _div_round_half_up
from core.money import format_brl
from partner.pricing import PARTNER_DISCOUNT, PAYER_CLIENT, PAYER_PARTNER, PAYERS, discount_cents, price_for  # noqa: F401
from partner.pricing import check_payer as _check_payer

__all__ = [
    "PARTNER_DISCOUNT",
    "PAYER_CLIENT",
    "PAYER_PARTNER",
    "InvoiceLineSnapshot",
    "InvoiceTotals",
    "discount_cents",
    "format_brl",
    "line_for",
    "price_for",
    "prorate",
    "prorate_span",
    "totals",
]

def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _cumulative(monthly_cents: int, days: int, day: int) -> int:
    """Rounded share of the monthly price accrued by the end of ``day``."""
    return _div_round_half_up(monthly_cents * day, days)


def prorate(
    monthly_cents: int,
    period_start: date,
    period_end: date,
    month: tuple[int, int] | None = None,
) -> int:
    """Charge for the days ``[period_start, period_end]`` (inclusive) of ``month``.

    ``month`` is ``(year, month)``; when omitted it is taken from
    ``period_start``.  Both dates must fall inside that month.  Uses cumulative
    rounding so consecutive ranges always add up to the monthly price.
    """
    _check_cents(monthly_cents, "monthly_cents")
    if month is None:
        month = (period_start.year, period_start.month)
    year, month_number = month
    if period_end < period_start:
        raise ValueError(f"period_end {period_end} is before period_start {period_start}")
    for d in (period_start, period_end):
        if (d.year, d.month) != (year, month_number):
            raise ValueError(f"{d} is outside month {year:04d}-{month_number:02d}")
    days = _days_in_month(year, month_number)
    return _cumulative(monthly_cents, days, period_end.day) - _cumulative(monthly_cents, days, period_start.day - 1)


def _month_pieces(period_start: date, period_end: date) -> list[tuple[date, date]]:
    """Split ``[period_start, period_end]`` into per-calendar-month ranges."""
    if period_end < period_start:
        raise ValueError(f"period_end {period_end} is before period_start {period_start}")
    pieces = []
    start = period_start
    while start <= period_end:
        month_end = start.replace(day=_days_in_month(start.year, start.month))
        end = min(month_end, period_end)
        pieces.append((start, end))
        start = end + timedelta(days=1)
    return pieces


def prorate_span(monthly_cents: int, period_start: date, period_end: date) -> int:
    """Like :func:`prorate` but the period may cross month boundaries.

    Each calendar month touched is prorated on its own number of days, so a
    period covering whole months costs exactly ``monthly_cents`` per month.
    """
    return sum(prorate(monthly_cents, a, b) for a, b in _month_pieces(period_start, period_end))


@dataclass(frozen=True)
class InvoiceLineSnapshot:
    """An invoice line frozen at billing time (never recomputed later)."""

    plan_id: int | str
    plan_name: str
    list_price_cents: int
    discount_cents: int
    amount_cents: int
    period_start: date
    period_end: date
    description: str

    def __post_init__(self) -> None:
        if self.list_price_cents - self.discount_cents != self.amount_cents:
            raise ValueError("amount_cents must equal list_price_cents - discount_cents")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")


def _describe(plan_name: str, period_start: date, period_end: date, payer: str) -> str:
    text = f"{plan_name} — {period_start:%d/%m/%Y} a {period_end:%d/%m/%Y}"
    if payer == PAYER_PARTNER:
        text += f" (desconto de parceiro {PARTNER_DISCOUNT * 100:.0f}%)"
    return text


def line_for(
    *,
    plan_id: int | str,
    plan_name: str,
    monthly_price_cents: int,
    payer: str,
    period_start: date,
    period_end: date,
    description: str | None = None,
) -> InvoiceLineSnapshot:
    """Build the snapshot for ``plan`` billed over ``[period_start, period_end]``.

    The list price is the monthly price prorated by day (exactly the monthly
    price for a full calendar month); the partner discount is then applied
    to that prorated list price.
    """
    _check_payer(payer)
    list_price = prorate_span(monthly_price_cents, period_start, period_end)
    discount = discount_cents(list_price, payer)
    return InvoiceLineSnapshot(
        plan_id=plan_id,
        plan_name=plan_name,
        list_price_cents=list_price,
        discount_cents=discount,
        amount_cents=list_price - discount,
        period_start=period_start,
        period_end=period_end,
        description=description if description is not None else _describe(plan_name, period_start, period_end, payer),
    )


@dataclass(frozen=True)
class InvoiceTotals:
    list_price_cents: int
    discount_cents: int
    amount_cents: int


def totals(lines: Iterable[InvoiceLineSnapshot]) -> InvoiceTotals:
    """Invoice totals: the plain sums of the lines (no re-rounding)."""
    list_price = discount = amount = 0
    for line in lines:
        list_price += line.list_price_cents
        discount += line.discount_cents
        amount += line.amount_cents
    return InvoiceTotals(list_price, discount, amount)
