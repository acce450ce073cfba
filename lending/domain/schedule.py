"""Repayment schedules: 等额本息, 等额本金, 先息后本, and daily interest for 随借随还.

Rounding contract: every per-period amount (instalment, period interest) is rounded half up to
the cent once, from unrounded inputs; the last instalment absorbs the rounding so the balance
ends at exactly 0.

- ``EQUAL_INSTALLMENT`` and ``EQUAL_PRINCIPAL``: period interest = balance × annual_rate / 12
  (monthly rate = annual rate ÷ 12, DOMAIN §3.3). An irregular first period (``first_due_on``
  not the monthly anniversary of the disbursement, DOMAIN §8.5) accrues its actual days at the
  day-count basis instead; its principal is the regular schedule's, so the first instalment is
  the level instalment plus (actual-day interest − a regular month's interest), and the last
  instalment absorbs the rounding as always.
- ``INTEREST_FIRST``: period interest = principal × annual_rate × days / 360 (or 365); under
  30/360 a whole monthly period is 30 days (so 12 % gives 1 % a month), a broken first period
  uses 30E/360; under ACT/360 and ACT/365 the actual days (first day excluded, last included).
- ``DAILY`` has no schedule: use :func:`daily_interest` over the draws and repayments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

from .daycount import DEFAULT_DAY_COUNT, DayCount, days_30e_360, year_days
from .money import ZERO, DomainError, q2


class ScheduleError(DomainError):
    """Invalid schedule parameters."""


class Method(StrEnum):
    EQUAL_INSTALLMENT = "EQUAL_INSTALLMENT"  # 等额本息
    EQUAL_PRINCIPAL = "EQUAL_PRINCIPAL"  # 等额本金
    INTEREST_FIRST = "INTEREST_FIRST"  # 先息后本
    DAILY = "DAILY"  # 随借随还


class Installment(NamedTuple):
    """One schedule row; ``balance`` is the principal outstanding after this instalment."""

    seq: int
    due_on: date
    principal: Decimal
    interest: Decimal
    payment: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    installments: tuple[Installment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_payment: Decimal


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _is_month_end(day: date) -> bool:
    return day.day == _days_in_month(day.year, day.month)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months``; a month-end date stays at month end (01-31 → 02-29 → 03-31).

    Same result as ``day + relativedelta(months=months)`` (``day=31`` added for a month-end
    date), checked against python-dateutil by a property test; plain integer arithmetic here
    because the booking batch calls it for every instalment of every loan.
    """
    index = day.month - 1 + months
    year = day.year + index // 12
    month = index % 12 + 1
    last = _days_in_month(year, month)
    return date(year, month, last if _is_month_end(day) or day.day > last else day.day)


def due_dates(first_due_on: date, term: int) -> tuple[date, ...]:
    """The ``term`` monthly due dates, each anchored on ``first_due_on`` (no drift)."""
    return tuple(add_months(first_due_on, k) for k in range(term))


def annuity_payment(principal: Decimal, annual_rate: Decimal, term: int) -> Decimal:
    """A = P·i·(1+i)^n / ((1+i)^n − 1), i = annual_rate/12, rounded half up (exact rational)."""
    if term < 1:
        raise ScheduleError("term must be at least 1")
    p = Fraction(principal)
    i = Fraction(annual_rate) / 12
    if i == 0:
        exact = p / term
    else:
        growth = (1 + i) ** term
        exact = p * i * growth / (growth - 1)
    cents = exact * 100
    return Decimal((cents.numerator * 2 + cents.denominator) // (cents.denominator * 2)).scaleb(-2)


def _check(principal: Decimal, annual_rate: Decimal, term: int) -> None:
    if term < 1:
        raise ScheduleError("term must be at least 1")
    if principal <= 0 or principal != q2(principal):
        raise ScheduleError(f"principal must be a positive amount in cents, got {principal}")
    if annual_rate < 0:
        raise ScheduleError(f"annual rate must not be negative, got {annual_rate}")


def _finish(rows: list[Installment]) -> Schedule:
    total_principal = sum((r.principal for r in rows), ZERO)
    total_interest = sum((r.interest for r in rows), ZERO)
    return Schedule(tuple(rows), total_principal, total_interest, total_principal + total_interest)


def build_schedule(
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    method: Method | str,
    disbursed_on: date,
    first_due_on: date | None = None,
    day_count: DayCount | str = DEFAULT_DAY_COUNT,
    *,
    regular_first: bool | None = None,
) -> Schedule:
    """The repayment schedule of a loan (see the module docstring for the interest rules).

    ``regular_first`` overrides whether the first period counts as a whole month (None: it
    does when ``first_due_on`` is the monthly anniversary of ``disbursed_on``); a re-amortisation
    inside a monthly period passes True.
    """
    method = Method(method)
    day_count = DayCount(day_count)
    _check(principal, annual_rate, term)
    if first_due_on is None:
        first_due_on = add_months(disbursed_on, 1)
    if first_due_on <= disbursed_on:
        raise ScheduleError("first due date must be after the disbursement date")
    dues = due_dates(first_due_on, term)
    if method in (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL):
        if regular_first is None:
            regular_first = is_regular_first_period(disbursed_on, first_due_on)
        first_interest = None if regular_first else q2(
            first_period_interest(principal, annual_rate, disbursed_on, first_due_on, day_count))
        build = _equal_installment if method == Method.EQUAL_INSTALLMENT else _equal_principal
        return build(principal, annual_rate, dues, first_interest)
    if method == Method.INTEREST_FIRST:
        return _interest_first(principal, annual_rate, disbursed_on, dues, day_count)
    raise ScheduleError("DAILY (随借随还) loans have no schedule; use daily_interest()")


def is_regular_first_period(disbursed_on: date, first_due_on: date) -> bool:
    """Whether the first period is a whole month: due on the disbursement's anniversary."""
    return add_months(disbursed_on, 1) == first_due_on


def period_days(start: date, end: date, day_count: DayCount | str = DEFAULT_DAY_COUNT) -> int:
    """Interest days of a period at the basis (first day excluded, last included)."""
    if DayCount(day_count) == DayCount.THIRTY_360:
        return days_30e_360(start, end)
    return (end - start).days


def first_period_interest(
    balance: Decimal, annual_rate: Decimal, start: date, end: date,
    day_count: DayCount | str = DEFAULT_DAY_COUNT,
) -> Decimal:
    """Unrounded interest of an irregular period: its actual days at the basis (DOMAIN §8.5)."""
    day_count = DayCount(day_count)
    return balance * annual_rate * period_days(start, end, day_count) / year_days(day_count)


def _equal_installment(
    principal: Decimal, annual_rate: Decimal, dues: tuple[date, ...],
    first_interest: Decimal | None = None,
) -> Schedule:
    payment = annuity_payment(principal, annual_rate, len(dues))
    balance = principal
    rows: list[Installment] = []
    last = len(dues)
    for seq, due_on in enumerate(dues, 1):
        interest = q2(balance * annual_rate / 12)
        if seq == last:
            part = balance
        else:
            # A rounded annuity never pays less than the interest; clamp for tiny loans.
            part = min(max(payment - interest, ZERO), balance)
        if seq == 1 and first_interest is not None:
            interest = first_interest  # irregular first period: principal as if regular
        balance -= part
        rows.append(Installment(seq, due_on, part, interest, part + interest, balance))
    return _finish(rows)


def _equal_principal(
    principal: Decimal, annual_rate: Decimal, dues: tuple[date, ...],
    first_interest: Decimal | None = None,
) -> Schedule:
    term = len(dues)
    part = q2(principal / term)
    balance = principal
    rows: list[Installment] = []
    for seq, due_on in enumerate(dues, 1):
        interest = q2(balance * annual_rate / 12)
        if seq == 1 and first_interest is not None:
            interest = first_interest
        this = balance if seq == term else min(part, balance)
        balance -= this
        rows.append(Installment(seq, due_on, this, interest, this + interest, balance))
    return _finish(rows)


def _interest_first(
    principal: Decimal,
    annual_rate: Decimal,
    disbursed_on: date,
    dues: tuple[date, ...],
    day_count: DayCount,
) -> Schedule:
    denominator = year_days(day_count)
    start = disbursed_on
    regular_first = is_regular_first_period(disbursed_on, dues[0])
    rows: list[Installment] = []
    term = len(dues)
    for seq, due_on in enumerate(dues, 1):
        if day_count == DayCount.THIRTY_360:
            days = 30 if (seq > 1 or regular_first) else days_30e_360(start, due_on)
        else:
            days = (due_on - start).days
        interest = q2(principal * annual_rate * days / denominator)
        part = principal if seq == term else ZERO
        balance = ZERO if seq == term else principal
        rows.append(Installment(seq, due_on, part, interest, part + interest, balance))
        start = due_on
    return _finish(rows)


def accrued_interest(
    period_interest: Decimal, period_start: date, period_end: date, as_of: date
) -> Decimal:
    """Scheduled interest of one period accrued at the day-end of ``as_of`` (计提).

    HALF_UP(period_interest × elapsed days / period days), 0 on ``period_start`` and exactly
    ``period_interest`` from ``period_end`` on. A pure function of the date, so a day's accrual
    posting is ``accrued_interest(.., D) − accrued_interest(.., D − 1)`` and the daily postings
    of a period sum to its scheduled interest exactly.
    """
    if period_end <= period_start:
        raise ScheduleError("period end must be after its start")
    if as_of >= period_end:
        return period_interest
    if as_of <= period_start:
        return ZERO
    elapsed = (as_of - period_start).days
    return q2(period_interest * elapsed / (period_end - period_start).days)


# --- 随借随还: daily interest over draws and repayments -------------------------------------


class Movement(NamedTuple):
    """A principal movement on a day: ``amount`` > 0 is a draw, < 0 a repayment."""

    on: date
    amount: Decimal


def daily_interest_unrounded(
    annual_rate: Decimal,
    movements: Iterable[Movement | tuple[date, Decimal]],
    from_day: date,
    to_day: date,
    basis: DayCount = DEFAULT_DAY_COUNT,
    *,
    include_first: bool = False,
    include_last: bool = True,
) -> Decimal:
    """Unrounded interest for the calendar days ``from_day``..``to_day`` (both inclusive).

    Each day accrues on the principal that counts on that day: principal drawn on day d counts
    from d (``include_first``) or d+1, principal repaid on day d counts up to d
    (``include_last``) or d−1. Default: opening balance of the day (算尾不算头).
    """
    if basis == DayCount.THIRTY_360:
        raise ScheduleError("daily interest is defined for ACT/360 and ACT/365 only")
    if to_day < from_day:
        return Decimal(0)
    by_day: dict[date, list[Decimal]] = {}
    for on, amount in movements:
        slot = by_day.get(on)
        if slot is None:
            slot = by_day[on] = [Decimal(0), Decimal(0)]
        if amount >= 0:
            slot[0] += amount
        else:
            slot[1] -= amount
    days = sorted(by_day)
    balance = Decimal(0)
    weighted = Decimal(0)  # Σ balance × days
    for n, day in enumerate(days):
        draws, repays = by_day[day]
        opening = balance
        balance = opening + draws - repays
        if balance < 0:
            raise ScheduleError(f"repayments exceed the outstanding principal on {day}")
        # The movement day itself.
        if from_day <= day <= to_day:
            on_day = opening + (draws if include_first else 0) - (0 if include_last else repays)
            weighted += max(on_day, Decimal(0))
        # Days strictly between this movement and the next one accrue on the closing balance.
        nxt = days[n + 1] if n + 1 < len(days) else to_day + timedelta(days=1)
        lo = max(day + timedelta(days=1), from_day)
        hi = min(nxt - timedelta(days=1), to_day)
        if hi >= lo and balance:
            weighted += balance * ((hi - lo).days + 1)
    return weighted * annual_rate / year_days(basis)


def daily_interest(
    annual_rate: Decimal,
    movements: Sequence[Movement | tuple[date, Decimal]],
    from_day: date,
    to_day: date,
    basis: DayCount = DEFAULT_DAY_COUNT,
    *,
    include_first: bool = False,
    include_last: bool = True,
) -> Decimal:
    """Interest of a 随借随还 loan for ``from_day``..``to_day``, rounded half up once."""
    return q2(
        daily_interest_unrounded(
            annual_rate,
            movements,
            from_day,
            to_day,
            basis,
            include_first=include_first,
            include_last=include_last,
        )
    )
