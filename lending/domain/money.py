"""Money primitives: two-decimal amounts, HALF_UP rounding, exact cent arithmetic.

Rounding is explicit (``quantize(CENT, ROUND_HALF_UP)``); the Decimal context is never changed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class DomainError(ValueError):
    """Base class of the errors raised by the pure lending arithmetic."""


def q2(value: Decimal) -> Decimal:
    """Round to the cent, half up (the contract rounding point)."""
    return value.quantize(CENT, ROUND_HALF_UP)


GUARD = Decimal("1E-8")


def accrued_part(amount: Decimal, elapsed: int, period: int) -> Decimal:
    """HALF_UP(amount × elapsed / period): the part of a period's running accrual that has
    accrued, rounded to the cent once (§8.6). `amount` is stored to 10 places, so a part that
    is exactly half a cent (11.5353333333… × 15/26 = 6.655) can come out a hair below it; it is
    first rounded to 8 places, which no other value of these ratios lies within, then to the
    cent. lending/sql/positions.sql does the same (round(round(…, 8), 2))."""
    return q2((amount * elapsed / period).quantize(GUARD, ROUND_HALF_UP))


def to_cents(amount: Decimal) -> int:
    """Exact integer cents of a money amount; raises if it has more than two decimals."""
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise DomainError(f"amount {amount} has more than two decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Decimal amount with exactly two decimals from integer cents."""
    return Decimal(cents).scaleb(-2)


def half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half up (away from zero on ties), denominator > 0."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))
