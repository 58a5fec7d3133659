"""What a payer pays for a catalogue price: the client pays the plan's price, the partner (reseller)
paying for its client gets half of it. Pure functions on integer centavos.

The rule lives with the catalogue and the ``Payer`` choice it depends on, so the panel, the
contracts and billing all read one rule; billing prorates and invoices with it (billing.pricing).
The *discount* is what is rounded half-up to the centavo; the amount is ``price - discount``
(4999 -> discount 2500, amount 2499), so ``amount + discount == price`` always holds."""

from decimal import Decimal

from core.money import check_cents, div_round_half_up

PARTNER_DISCOUNT = Decimal("0.5")

PAYER_PARTNER = "partner"
PAYER_CLIENT = "client"
PAYERS = frozenset({PAYER_PARTNER, PAYER_CLIENT})


def check_payer(payer: str) -> None:
    if payer not in PAYERS:
        raise ValueError(f"payer must be one of {sorted(PAYERS)}, got {payer!r}")


def discount_cents(list_price_cents: int, payer: str) -> int:
    """Discount granted on ``list_price_cents`` for ``payer``.

    ``"partner"`` gets :data:`PARTNER_DISCOUNT` (50%) rounded half-up to the
    centavo; ``"client"`` gets none.
    """
    check_cents(list_price_cents, "list_price_cents")
    check_payer(payer)
    if payer != PAYER_PARTNER:
        return 0
    num, den = PARTNER_DISCOUNT.as_integer_ratio()
    return div_round_half_up(list_price_cents * num, den)


def price_for(list_price_cents: int, payer: str) -> int:
    """Amount ``payer`` pays for something listed at ``list_price_cents``."""
    return list_price_cents - discount_cents(list_price_cents, payer)
