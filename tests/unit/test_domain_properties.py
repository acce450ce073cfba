"""Hypothesis properties of the loan arithmetic core."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from decimal import Decimal as D
from fractions import Fraction

from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lending.domain import (
    Component,
    InterestRule,
    Method,
    OwedItem,
    accrued_interest,
    add_months,
    allocate,
    build_schedule,
    daily_interest_by_funder,
    daily_interest_unrounded,
    interest_days,
    months_fraction,
    q2,
    split,
    split_interest,
    split_principal,
)

MANY = settings(max_examples=2000, deadline=None)
SOME = settings(max_examples=1000, deadline=None)

cents = st.integers(min_value=0, max_value=10**9).map(lambda c: D(c).scaleb(-2))
small_cents = st.integers(min_value=0, max_value=200).map(lambda c: D(c).scaleb(-2))
amounts = st.one_of(small_cents, cents)
keys = st.sampled_from(["bank", "platform", "p2", "coop", "guarantor", "b2"])


def funder_weights(kind="ratio"):
    """(weights by funder key, residual key); ratios with 6 decimals or balances in cents."""
    top, exp = (10**6, -6) if kind == "ratio" else (10**9, -2)
    value = st.one_of(st.integers(0, 100), st.integers(0, top)).map(lambda v: D(v).scaleb(exp))
    dicts = st.dictionaries(keys, value, min_size=1, max_size=5).map(
        lambda d: d if sum(d.values()) > 0 else {**d, min(d): D(1)}
    )
    return dicts.flatmap(lambda d: st.tuples(st.just(d), st.sampled_from(sorted(d))))


def _reorderings(weights):
    """The same funders listed in other orders (reversed, rotated)."""
    items = list(weights.items())
    return [dict(reversed(items)), dict(items[1:] + items[:1])]


# --- split -----------------------------------------------------------------------------------


@MANY
@given(amount=amounts, fw=funder_weights())
def test_split_sums_exactly_never_negative_is_half_up_and_ignores_funder_order(amount, fw):
    weights, residual = fw
    parts = split(amount, weights, residual)
    assert sum(parts.values()) == amount
    assert all(v >= 0 and v == q2(v) for v in parts.values())
    assert all(split(amount, w, residual) == parts for w in _reorderings(weights))
    assert split(-amount, weights, residual) == {k: -v for k, v in parts.items()}
    total = sum(weights.values())
    naive = {k: q2(amount * w / total) for k, w in weights.items() if k != residual}
    if sum(naive.values()) <= amount:  # the plain rule: non-residuals HALF_UP, residual the rest
        assert all(parts[k] == v for k, v in naive.items())
    for k, w in weights.items():
        assert abs(parts[k] - amount * w / total) <= D("0.01") * len(weights)


@MANY
@given(fw=funder_weights(kind="balance"), permille=st.integers(0, 1000))
def test_split_principal_within_each_balance_and_order_independent(fw, permille):
    outstanding, residual = fw
    total_cents = int(sum(outstanding.values()) * 100)
    amount = D(total_cents * permille // 1000).scaleb(-2)
    parts = split_principal(amount, outstanding, residual)
    assert sum(parts.values()) == amount
    assert all(D(0) <= parts[k] <= outstanding[k] for k in outstanding)
    assert all(split_principal(amount, w, residual) == parts for w in _reorderings(outstanding))


@SOME
@given(fw=funder_weights(kind="balance"), permilles=st.lists(st.integers(0, 1000), max_size=20))
def test_loan_repaid_in_full_leaves_every_funder_share_at_exactly_zero(fw, permilles):
    outstanding, residual = fw
    for permille in permilles:
        total = sum(outstanding.values())
        pay = D(int(total * 100) * permille // 1000).scaleb(-2)
        paid = split_principal(pay, outstanding, residual)
        outstanding = {k: outstanding[k] - paid[k] for k in outstanding}
        assert all(v >= 0 for v in outstanding.values())
    final = split_principal(sum(outstanding.values()), outstanding, residual)
    outstanding = {k: outstanding[k] - final[k] for k in outstanding}
    assert all(v == 0 for v in outstanding.values())


@MANY
@given(
    interest=cents,
    bank_principal=st.integers(1, 10**8).map(lambda c: D(c).scaleb(-2)),
    bank_rate=st.integers(0, 3600).map(lambda b: D(b).scaleb(-4)),
    other_rate=st.integers(0, 3600).map(lambda b: D(b).scaleb(-4)),
    rule=st.sampled_from(list(InterestRule)),
)
def test_interest_split_sums_to_borrower_interest_and_ignores_order(
    interest, bank_principal, bank_rate, other_rate, rule
):
    weights = {"bank": D("0.7"), "platform": D("0.3")}
    principal = {"bank": bank_principal, "platform": bank_principal * 3 / 7}
    rates = (
        {"bank": bank_rate}
        if rule == InterestRule.BANK_FIXED_YIELD
        else {
            "bank": bank_rate,
            "platform": other_rate,
        }
    )
    assume(rule != InterestRule.PER_FUNDER_RATE or bank_rate + other_rate > 0)
    kwargs = dict(residual="platform", principal=principal, rates=rates, period=months_fraction())
    got = split_interest(interest, rule, weights=weights, **kwargs)
    assert sum(got.shares.values()) == interest
    assert all(v >= 0 for v in got.shares.values())
    assert sum(got.gross.values()) == interest
    assert all(got.gross[k] - got.shares[k] == got.service_fee[k] for k in ("bank",)) or (
        rule != InterestRule.BANK_FIXED_YIELD
    )
    for w in _reorderings(weights):
        assert split_interest(interest, rule, weights=w, **kwargs) == got


# --- schedules -----------------------------------------------------------------------------------

principals = st.integers(10_000, 100_000_000).map(lambda c: D(c).scaleb(-2))  # 100 .. 1,000,000
rates = st.integers(100, 3600).map(lambda b: D(b).scaleb(-4))  # 1 % .. 36 %
terms = st.integers(1, 36)
days = st.dates(date(2000, 1, 1), date(2060, 12, 31))


def _annuity_oracle(principal: D, rate: D, term: int) -> D:
    """A = P·i / (1 − (1+i)^−n) in exact rationals, rounded half up to the cent."""
    i = Fraction(rate) / 12
    a = Fraction(principal) * i / (1 - (1 + i) ** -term)
    c = a * 100
    whole, rest = divmod(c.numerator, c.denominator)
    return D(whole + (1 if 2 * rest >= c.denominator else 0)).scaleb(-2)


@MANY
@given(principal=principals, rate=rates, term=terms, disbursed=days)
def test_annuity_payment_is_the_formula_rounded_half_up_for_every_period_but_last(
    principal, rate, term, disbursed
):
    s = build_schedule(principal, rate, term, Method.EQUAL_INSTALLMENT, disbursed)
    expected = _annuity_oracle(principal, rate, term)
    assert all(r.payment == expected for r in s.installments[:-1])
    # Each period's rounding (payment and interest, at most 0.01 together) stays in the balance
    # and grows with it at the monthly rate: the last payment absorbs at most
    # 0.01 × Σ (1 + i)^k, k < term (0.01 × term at a zero rate).
    i = rate / 12
    bound = D("0.01") * sum((1 + i) ** k for k in range(term))
    assert abs(s.installments[-1].payment - expected) <= bound


@MANY
@given(
    principal=principals,
    rate=rates,
    term=terms,
    method=st.sampled_from(
        [Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_FIRST]
    ),
    disbursed=days,
    basis=st.sampled_from(["ACT/360", "ACT/365", "30/360"]),
)
def test_schedule_principal_sums_to_the_loan_and_balance_ends_at_zero(
    principal, rate, term, method, disbursed, basis
):
    s = build_schedule(principal, rate, term, method, disbursed, day_count=basis)
    rows = s.installments
    assert len(rows) == term
    assert sum(r.principal for r in rows) == principal == s.total_principal
    assert rows[-1].balance == 0
    balance = principal
    for r in rows:
        assert r.principal >= 0 and r.interest >= 0
        assert r.payment == r.principal + r.interest
        balance -= r.principal
        assert r.balance == balance >= 0
    assert s.total_payment == s.total_principal + s.total_interest
    dues = [r.due_on for r in rows]
    assert dues == sorted(set(dues)) and dues[0] > disbursed


@SOME
@given(first=days, term=st.integers(1, 60))
def test_month_end_due_dates_stay_at_month_end(first, term):
    s = build_schedule(D("1000.00"), D("0.12"), term, Method.EQUAL_INSTALLMENT, first)
    first_due = s.installments[0].due_on
    month_end = first_due.day == monthrange(first_due.year, first_due.month)[1]
    for r in s.installments:
        last_day = monthrange(r.due_on.year, r.due_on.month)[1]
        assert r.due_on.day == (last_day if month_end else min(first_due.day, last_day))


# --- waterfall -----------------------------------------------------------------------------------

components = st.sampled_from(list(Component))


BASE_DUE = date(2024, 1, 15)
owed_lists = st.lists(
    st.tuples(st.integers(1, 4), components, st.one_of(small_cents, cents)),
    max_size=10,
    unique_by=lambda t: (t[0], t[1]),
).map(
    lambda rows: [
        OwedItem(inst, BASE_DUE + timedelta(days=30 * inst), comp, amount)
        for inst, comp, amount in rows
    ]
)


orders = st.permutations(list(Component)).map(tuple)


def _per_key(allocation):
    out = {}
    for line in allocation.lines:
        key = (line.installment, line.component)
        out[key] = out.get(key, D(0)) + line.amount
    return out


@MANY
@given(payment=amounts, owed=owed_lists, order=orders, prepay=small_cents, by=st.booleans())
def test_allocation_never_exceeds_what_is_owed_and_accounts_for_the_whole_payment(
    payment, owed, order, prepay, by
):
    result = allocate(payment, owed, order, prepayable_principal=prepay, by_component=by)
    owed_by_key = {(i.installment, i.component): i.amount for i in owed}
    for key, amount in _per_key(result).items():
        assert D(0) < amount <= owed_by_key[key]
    assert result.applied + result.overpayment == payment
    assert result.prepaid_principal <= prepay
    if result.overpayment > 0:
        assert _per_key(result) == {k: v for k, v in owed_by_key.items() if v > 0}
        assert result.prepaid_principal == prepay


@MANY
@given(a=amounts, b=amounts, owed=owed_lists, order=orders, prepay=small_cents, by=st.booleans())
def test_two_payments_on_the_same_day_allocate_exactly_as_their_sum(a, b, owed, order, prepay, by):
    first = allocate(a, owed, order, prepayable_principal=prepay, by_component=by)
    paid = _per_key(first)
    remaining = [
        i._replace(amount=i.amount - paid.get((i.installment, i.component), D(0))) for i in owed
    ]
    second = allocate(
        b,
        remaining,
        order,
        prepayable_principal=prepay - first.prepaid_principal,
        by_component=by,
    )
    combined = allocate(a + b, owed, order, prepayable_principal=prepay, by_component=by)
    both = _per_key(first)
    for key, amount in _per_key(second).items():
        both[key] = both.get(key, D(0)) + amount
    assert both == _per_key(combined)
    assert first.prepaid_principal + second.prepaid_principal == combined.prepaid_principal
    assert first.overpayment + second.overpayment == combined.overpayment


# --- daily interest --------------------------------------------------------------------------------


@st.composite
def movement_lists(draw):
    start = draw(st.dates(date(2023, 1, 1), date(2025, 1, 1)))
    balance = 0
    moves = []
    day = start
    for _ in range(draw(st.integers(1, 8))):
        day += timedelta(days=draw(st.integers(0, 40)))
        if balance and draw(st.booleans()):
            amount = -draw(st.integers(1, balance))
        else:
            amount = draw(st.integers(1, 10**7))
        balance += amount
        moves.append((day, D(amount).scaleb(-2)))
    return moves


def _brute_force(rate, moves, lo, hi, first, last):
    total = D(0)
    day = lo
    while day <= hi:
        opening = sum((a for d, a in moves if d < day), D(0))
        draws = sum((a for d, a in moves if d == day and a > 0), D(0))
        repays = -sum((a for d, a in moves if d == day and a < 0), D(0))
        counted = opening + (draws if first else 0) - (0 if last else repays)
        total += max(counted, D(0))
        day += timedelta(days=1)
    return total * rate / 360


@SOME
@given(
    moves=movement_lists(),
    span=st.tuples(st.integers(-5, 200), st.integers(0, 200)),
    first=st.booleans(),
    last=st.booleans(),
)
def test_daily_interest_equals_day_by_day_accrual(moves, span, first, last):
    lo = moves[0][0] + timedelta(days=span[0])
    hi = lo + timedelta(days=span[1])
    rate = D("0.18")
    got = daily_interest_unrounded(rate, moves, lo, hi, include_first=first, include_last=last)
    assert got == _brute_force(rate, moves, lo, hi, first, last)


@SOME
@given(moves=movement_lists(), ratio=st.integers(0, 100), days_after=st.integers(0, 90))
def test_daily_interest_by_funder_sums_to_the_borrower_interest(moves, ratio, days_after):
    outstanding = {"bank": D(0), "platform": D(0)}
    by_funder = {"bank": [], "platform": []}
    for day, amount in moves:
        if amount > 0:
            parts = split(amount, {"bank": D(ratio), "platform": D(100 - ratio)}, "platform")
        else:
            parts = {k: -v for k, v in split_principal(-amount, outstanding, "platform").items()}
        for k, v in parts.items():
            outstanding[k] += v
            by_funder[k].append((day, v))
    lo, hi = moves[0][0], moves[-1][0] + timedelta(days=days_after)
    got = daily_interest_by_funder(D("0.18"), by_funder, lo, hi, "platform")
    assert sum(got.values()) == q2(daily_interest_unrounded(D("0.18"), moves, lo, hi))
    assert all(v >= 0 for v in got.values())


@SOME
@given(a=days, n=st.integers(0, 4000))
def test_act_interest_days_default_is_calendar_difference(a, n):
    b = a + timedelta(days=n)
    assert interest_days(a, b) == n
    assert interest_days(a, b, include_first=True) == n + 1
    assert interest_days(a, b, "ACT/365", include_last=False) == max(n - 1, 0)


@SOME
@given(interest=cents, start=days, length=st.integers(1, 62))
def test_accrued_interest_grows_daily_to_exactly_the_period_interest(interest, start, length):
    end = start + timedelta(days=length)
    previous = accrued_interest(interest, start, end, start)
    assert previous == 0
    day = start
    while day < end:
        day += timedelta(days=1)
        now = accrued_interest(interest, start, end, day)
        assert previous <= now <= interest
        previous = now
    assert previous == interest


@MANY
@given(day=days, months=st.integers(-600, 600))
def test_add_months_matches_dateutil_relativedelta_with_month_end_stickiness(day, months):
    month_end = (day + timedelta(days=1)).day == 1
    expected = day + (
        relativedelta(months=months, day=31) if month_end else relativedelta(months=months)
    )
    assert add_months(day, months) == expected
