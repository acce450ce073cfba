"""Money helpers: Decimal only, two places (fen), ROUND_HALF_UP where a contract says to round."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# numeric(18,2): the largest amount a line can hold.
MAX_AMOUNT = Decimal("9999999999999999.99")


def money(value: Decimal | int | str) -> Decimal:
    """An exact amount in fen; refuses floats and values with more than two decimal places."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"amount {value!r} has more than two decimal places")
    return amount.quantize(CENT)


def round_half_up(value: Decimal) -> Decimal:
    """Round to fen, half up (the contract rounding; apply to per-loan amounts, never totals)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def is_cents(value: Decimal) -> bool:
    """True when value is a finite Decimal with at most two decimal places."""
    return isinstance(value, Decimal) and value.is_finite() and value == value.quantize(CENT)
