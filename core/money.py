"""Money as integer centavos: the checks, the rounding and the "R$ 1.234,56" text every domain uses.

Pure functions (no database, no Flask), so any layer may import them."""

from decimal import Decimal

from babel.numbers import format_currency

__all__ = ["check_cents", "div_round_half_up", "format_brl"]


def check_cents(value: int, name: str) -> None:
    # bool is an int subclass; refuse it so True/False never become 1/0 centavo.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int number of centavos, got {type(value).__name__}")


def div_round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, halves away from zero.

    Pure integer arithmetic, so the result never depends on the (thread-local,
    mutable) ``decimal`` context.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -div_round_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def format_brl(cents: int) -> str:
    """Format centavos as Brazilian reais: ``123456 -> "R$ 1.234,56"``.

    Negative values come out as ``"-R$ 1.234,56"``.  Babel's non-breaking
    spaces are normalised to plain spaces so the text is stable in e-mails,
    CSV exports and tests.
    """
    check_cents(cents, "cents")
    text = format_currency(Decimal(cents).scaleb(-2), "BRL", locale="pt_BR")
    return text.replace("\u00a0", " ").replace("\u202f", " ")
