"""Pure pricing of orders (integer centavos, no database, no Flask).

* A term costs its catalogue price; a starter kit and each add-on unit cost their monthly price
  times the term's months.
* An add-on bought mid-term is prorated by day to the renewal date with cumulative rounding:
  ``cum(k) = round_half_up(full * k / days)`` is what the first ``k`` days of the term are worth, and
  buying on day ``k`` costs ``full - cum(k)``. Whatever the day, what was "used" plus what is charged
  is exactly the full-term price, to the centavo (tests/orders/test_properties.py).
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date

from core.money import check_cents, div_round_half_up


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def full_term_cents(monthly_cents: int, quantity: int, months: int) -> int:
    check_cents(monthly_cents, "monthly_cents")
    return monthly_cents * quantity * months


def used_cents(full_cents: int, term_start: date, renews_at: date, day: date) -> int:
    """What the days ``[term_start, day)`` of the term are worth (cumulative, rounded half up)."""
    check_cents(full_cents, "full_cents")
    days = (renews_at - term_start).days
    if days <= 0:
        raise ValueError("renews_at must be after term_start")
    elapsed = min(max((day - term_start).days, 0), days)
    return div_round_half_up(full_cents * elapsed, days)


def prorated_cents(full_cents: int, term_start: date, renews_at: date, day: date) -> int:
    """Price of something bought on ``day`` for the rest of the term (until ``renews_at``)."""
    return full_cents - used_cents(full_cents, term_start, renews_at, day)


def days_left(renews_at: date, day: date) -> int:
    return max((renews_at - day).days, 0)


@dataclass(frozen=True)
class Line:
    code: str  # term, kit, addon:<code>, storage
    description: str
    quantity: int
    unit_cents: int
    amount_cents: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    lines: tuple[Line, ...]
    term_start: date
    renews_at: date

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    def snapshot(self) -> dict:
        return {"lines": [line.as_dict() for line in self.lines], "total_cents": self.total_cents,
                "term_start": self.term_start.isoformat(), "renews_at": self.renews_at.isoformat()}


def order_summary(*, service_name: str, months: int, term_price_cents: int, kit_gb: int, kit_monthly_cents: int,
                  addons: list[tuple[str, str, int, int]], today: date) -> Summary:
    """Every price of a new order. ``addons``: (code, label, quantity, unit monthly price)."""
    check_cents(term_price_cents, "term_price_cents")
    renews_at = add_months(today, months)
    lines = [Line("term", f"{service_name} — {months} meses", 1, term_price_cents, term_price_cents)]
    if kit_gb:
        kit = full_term_cents(kit_monthly_cents, 1, months)
        lines.append(Line("kit", f"Starter kit {kit_gb} GB — {months} meses", 1, kit, kit))
    for code, label, quantity, unit in addons:
        if quantity > 0:
            unit_term = full_term_cents(unit, 1, months)
            lines.append(Line(f"addon:{code}", f"{label} — {months} meses", quantity, unit_term, unit_term * quantity))
    return Summary(tuple(lines), today, renews_at)
