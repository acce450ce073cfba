"""Penalty interest (罚息) on overdue principal and compound interest (复利) on overdue interest.

PBoC 银发〔2003〕251号: penalty rate = contract rate × multiplier (1.3–1.5; 1.5 by default),
accruing from the day after the due date (or after the grace days) until repaid; unpaid interest
bears compound interest at the penalty rate. Day basis: /360 by default.

Rounding contract: the amount for an accrual period (from the start of overdue, or from the last
change of the overdue balance, to the as-of date) is computed unrounded and rounded half up
once. Accrued-to-date is therefore a pure function of the state and the date, and a day's
posting is accrued(D) − accrued(D−1) with no drift. For an overdue balance that changes inside
the period use :func:`lending.domain.schedule.daily_interest` at :func:`penalty_rate`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from .daycount import DEFAULT_DAY_COUNT, DayCount, year_days
from .money import DomainError, q2

DEFAULT_PENALTY_MULTIPLIER = Decimal("1.5")
PBOC_251_MULTIPLIER_MIN = Decimal("1.3")
PBOC_251_MULTIPLIER_MAX = Decimal("1.5")


class PenaltyError(DomainError):
    """Invalid penalty parameters."""


class PenaltyAccrual(NamedTuple):
    days: int
    penalty: Decimal  # on overdue principal
    compound: Decimal  # on overdue interest


def penalty_rate(annual_rate: Decimal, multiplier: Decimal = DEFAULT_PENALTY_MULTIPLIER) -> Decimal:
    """Annual penalty rate = contract rate × multiplier (18 % × 1.5 = 27 %)."""
    if multiplier < 1:
        raise PenaltyError(f"penalty multiplier below 1: {multiplier}")
    return annual_rate * multiplier


def multiplier_complies_pboc_251(multiplier: Decimal) -> bool:
    """Whether an overdue-penalty multiplier lies in PBoC 251's [1.3, 1.5] (R9)."""
    return PBOC_251_MULTIPLIER_MIN <= multiplier <= PBOC_251_MULTIPLIER_MAX


def overdue_days(
    due_on: date, as_of: date, grace_days: int = 0, *, grace_retroactive: bool = False
) -> int:
    """Penalty days at the end of ``as_of`` for an amount due on ``due_on``.

    Penalty runs from the day after the due date. With ``grace_days`` the first grace days are
    free; if ``grace_retroactive`` they become chargeable once the grace period is exceeded.
    """
    if grace_days < 0:
        raise PenaltyError("grace days must not be negative")
    late = (as_of - due_on).days
    if late <= grace_days:
        return 0
    return late if grace_retroactive else late - grace_days


def penalty_for_days(
    overdue_amount: Decimal,
    annual_rate: Decimal,
    days: int,
    multiplier: Decimal = DEFAULT_PENALTY_MULTIPLIER,
    basis: DayCount = DEFAULT_DAY_COUNT,
) -> Decimal:
    """overdue × rate × multiplier × days / 360, rounded half up (789.98, 18 %, 10 d → 5.92)."""
    if days < 0:
        raise PenaltyError("days must not be negative")
    return q2(overdue_amount * annual_rate * multiplier * days / year_days(basis))


def accrue_penalty(
    overdue_principal: Decimal,
    overdue_interest: Decimal,
    annual_rate: Decimal,
    due_on: date,
    as_of: date,
    *,
    multiplier: Decimal = DEFAULT_PENALTY_MULTIPLIER,
    grace_days: int = 0,
    grace_retroactive: bool = False,
    basis: DayCount = DEFAULT_DAY_COUNT,
) -> PenaltyAccrual:
    """Penalty on overdue principal and compound on overdue interest of one instalment to date."""
    days = overdue_days(due_on, as_of, grace_days, grace_retroactive=grace_retroactive)
    return PenaltyAccrual(
        days,
        penalty_for_days(overdue_principal, annual_rate, days, multiplier, basis),
        penalty_for_days(overdue_interest, annual_rate, days, multiplier, basis),
    )
