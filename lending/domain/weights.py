"""Funder weights of accrual-related splits (pure): who gets which part of interest/penalty."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .daycount import year_days

WEIGHT_PLACES = Decimal("1E-12")
ZERO = Decimal("0")
__all__ = ["accrual_weights", "penalty_weights", "year_days"]


def _normalise(raw: Mapping[int, Decimal]) -> dict[int, Decimal]:
    total = sum(raw.values(), ZERO)
    if total == 0:
        return {k: ZERO for k in raw}
    return {k: (v / total).quantize(WEIGHT_PLACES) for k, v in raw.items()}


def accrual_weights(rule: str, principal: Mapping[int, Decimal],
                    rates: Mapping[int, Decimal | None]) -> dict[int, Decimal]:
    """Interest weights by the agreement's rule, from each funder's current principal.

    PRO_RATA and BANK_FIXED_YIELD (whose sub-ledger holds gross pro-rata interest; the fee is a
    separate movement) weigh by principal; PER_FUNDER_RATE by principal × the funder's own rate.
    """
    if rule == "PER_FUNDER_RATE":
        return _normalise({k: p * (rates.get(k) or ZERO) for k, p in principal.items()})
    return _normalise(dict(principal))


def penalty_weights(rule: str, principal: Mapping[int, Decimal], bank_id: int,
                    platform_id: int) -> dict[int, Decimal]:
    """Penalty weights: PRO_RATA by principal, or all to the platform / the bank."""
    if rule in ("PLATFORM", "BANK"):
        target = platform_id if rule == "PLATFORM" else bank_id
        return {k: (Decimal(1) if k == target else ZERO) for k in principal}
    return _normalise(dict(principal))


