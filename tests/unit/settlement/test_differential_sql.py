"""Differential tests (issue 20): where the batch computes in SQL what the domain computes in
Python, both run on the same random loans and days and must agree to the cent.

- lending_share_positions / lending_loan_accruals (lending/sql/positions.sql): interest accrued
  since the anchor, penalty and compound interest since penalty_from, each split between the
  shares by weight — against the domain's loan day (lending.domain.loan_day), which crystallises
  exactly these amounts into the share balances at the next event (the derived position must
  be continuous with it, or the GL accrual delta would jump).
- lending_position_totals (positions.sql): Σ of the same positions per funder, program and
  accrual flag, in one pass (the accrual posting reads it), against the same crystallisation.
- the state the day's aging sets (lending.domain.loan_day.status_after_aging, rendered).
- the class of the day's aging (the CASE rendered from lending.domain.aging into the apply
  step's SQL) against lending.domain.aging.risk_class / days_past_due.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lending.domain.aging import ClassThresholds, days_past_due, is_non_accrual, risk_class
from lending.domain.loan_day import (
    OPEN_STATES,
    DayResult,
    LoanState,
    LoanStatus,
    Share,
    Terms,
    _Day,
    status_after_aging,
)
from lending.settlement.steps import accruing_sql, dpd_sql, risk_class_sql, status_sql
from tests.golden.conftest import golden  # noqa: F401  (the golden partner, agreement, program)
from tests.golden.helpers import loan_row, settle

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=120, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
BASE = date(2026, 3, 1)

cents = st.integers(0, 5_000_000).map(lambda c: D(c).scaleb(-2))
weights = st.integers(0, 10**12).map(lambda n: D(n).scaleb(-12))
# amount × days carried from earlier penalty bases (a grace end, §8.6): zero or up to 10^7 × days
carry = st.one_of(st.just(D("0.00")), st.integers(1, 10**11).map(lambda c: D(c).scaleb(-2)))
accrual = st.integers(0, 2_000 * 10**10).map(lambda n: D(n).scaleb(-10))


def _fetch(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.fixture
def dx_loan(golden):  # noqa: F811
    settle(date(2026, 1, 15), loans=[loan_row("DX")])
    ((loan_id, program_id),) = _fetch(
        "SELECT id, program_id FROM lending_loan WHERE loan_no = 'DX'", [])
    # A third, non-residual funder (the guarantor's share a claim buys), so that the split
    # has two HALF_UP parts and a residual.
    with connection.cursor() as cur:
        cur.execute("""INSERT INTO lending_loanshare (loan_id, funder_id, ratio, interest_rate,
                              funded_principal, principal_outstanding, interest_outstanding,
                              penalty_outstanding, compound_outstanding, claimed_amount,
                              written_off_amount, recovered_amount, accrual_weight,
                              penalty_weight, is_residual)
                       VALUES (%s, %s, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false)""",
                    [loan_id, golden["guarantor"].pk])
    return loan_id, program_id


@EXAMPLES
@given(state=st.sampled_from(["ACTIVE", "OVERDUE", "CLAIMED", "PAID_OFF", "WRITTEN_OFF"]),
       rate=st.integers(0, 2400).map(lambda bp: D(bp).scaleb(-4)),
       multiplier=st.sampled_from([D("1"), D("1.3"), D("1.4"), D("1.5")]),
       day_count=st.sampled_from(["ACT/360", "ACT/365", "30/360"]),
       has_accrual=st.booleans(), from_off=st.integers(0, 40), period=st.integers(1, 62),
       amount=accrual, has_penalty=st.booleans(), pen_off=st.integers(0, 40),
       pen_base=cents, cmp_base=cents, day_off=st.integers(-5, 120),
       w_acc=weights, w_pen=weights, balances=st.lists(cents, min_size=9, max_size=9), w_third=weights, three=st.booleans(),
       carries=st.tuples(carry, carry))
def test_share_positions_in_sql_equal_the_domain_crystallisation(
        dx_loan, state, rate, multiplier, day_count, has_accrual, from_off, period, amount,
        has_penalty, pen_off, pen_base, cmp_base, day_off, w_acc, w_pen, balances, w_third,
        three, carries):
    savepoint = transaction.savepoint()
    try:
        _compare(dx_loan, state, rate, multiplier, day_count, has_accrual, from_off, period,
                 amount, has_penalty, pen_off, pen_base, cmp_base, day_off, w_acc, w_pen,
                 balances, w_third if three else D("0"),
                 carries if has_penalty else (D("0"), D("0")))
    finally:
        transaction.savepoint_rollback(savepoint)


def _weights(residual: bool, funder: int, first: int, w: D, third: D) -> D:
    """The first funder w, a third (non-residual) funder its part of what is left, the
    residual funder the rest: Σ = 1, none negative."""
    rest = (1 - w) * third
    if residual:
        return 1 - w - rest.quantize(D("1E-12"))
    return w if funder == first else rest.quantize(D("1E-12"))


def _compare(dx_loan, state, rate, multiplier, day_count, has_accrual, from_off, period, amount,
             has_penalty, pen_off, pen_base, cmp_base, day_off, w_acc, w_pen, balances, third,
             carries):
    loan_id, program_id = dx_loan
    pen_carry, cmp_carry = carries
    acc_from = BASE + timedelta(days=from_off) if has_accrual else None
    acc_to = acc_from + timedelta(days=period) if has_accrual else None
    pen_from = BASE + timedelta(days=pen_off) if has_penalty else None
    day = BASE + timedelta(days=day_off)
    shares = _fetch("SELECT funder_id, is_residual, principal_outstanding FROM lending_loanshare"
                    " WHERE loan_id = %s ORDER BY funder_id", [loan_id])
    first = next(fid for fid, residual, _p in shares if not residual)
    with connection.cursor() as cur:
        cur.execute("UPDATE lending_program SET day_count = %s, penalty_multiplier = %s"
                    " WHERE id = %s", [day_count, multiplier, program_id])
        cur.execute("""UPDATE lending_loan SET state = %s, annual_rate = %s, accrual_from = %s,
                              accrual_to = %s, accrual_amount = %s, penalty_from = %s,
                              penalty_base = %s, compound_base = %s, penalty_carry = %s,
                              compound_carry = %s WHERE id = %s""",
                    [state, rate, acc_from, acc_to, amount, pen_from, pen_base, cmp_base,
                     pen_carry, cmp_carry, loan_id])
        for n, (fid, residual, _p) in enumerate(shares):
            aw = _weights(residual, fid, first, w_acc, third)
            pw = _weights(residual, fid, first, w_pen, third)
            i, pn, c = balances[3 * n: 3 * n + 3]
            cur.execute("""UPDATE lending_loanshare SET interest_outstanding = %s,
                                  penalty_outstanding = %s, compound_outstanding = %s,
                                  accrual_weight = %s, penalty_weight = %s
                            WHERE loan_id = %s AND funder_id = %s""",
                        [i, pn, c, aw, pw, loan_id, fid])
    sql = {r[0]: r[1:] for r in _fetch(
        """SELECT funder_id, principal, interest, penalty, compound FROM
           lending_share_positions(%s) WHERE loan_id = %s""", [day, loan_id])}

    # The domain: the same state, crystallised to the day by the loan-day engine.
    loan_shares = {}
    for n, (fid, residual, p) in enumerate(shares):
        i, pn, c = balances[3 * n: 3 * n + 3]
        aw = _weights(residual, fid, first, w_acc, third)
        pw = _weights(residual, fid, first, w_pen, third)
        loan_shares[fid] = Share(fid, p, i, pn, c, aw, pw, residual, p)
    loan = LoanState(loan_id, program_id, state, True, D("0"), acc_from, acc_to, amount, 0,
                     pen_from, pen_base, cmp_base, None, None, None, None, None, None, 0,
                     loan_shares, [], penalty_carry=pen_carry, compound_carry=cmp_carry)
    terms = Terms(annual_rate=rate, method="EQUAL_INSTALLMENT", day_count=day_count,
                  penalty_multiplier=multiplier, grace_days=0, order=(), claim_trigger_dpd=None,
                  claim_scope="PRINCIPAL_INTEREST", write_off_dpd=None, interest_rule="PRO_RATA",
                  bank_id=shares[0][0], guarantor_id=None, bank_yield=None)
    ctx = _Day(loan, terms, day, DayResult())
    if state in OPEN_STATES:
        ctx.crystallise_interest(day)
        if loan.penalty_from is not None:
            ctx.crystallise_penalty(day)
    python = {fid: (s.principal, s.interest, s.penalty, s.compound)
              for fid, s in loan.shares.items()}
    assert len(sql) == len(shares) == 3
    assert sql == python
    # lending_position_totals (the accrual posting and the sub-ledger = GL check) sums the same
    # positions per (funder, program, accrual flag) in one pass: with this loan alone on its
    # partner, its totals are the loan's positions.
    ((partner_id,),) = _fetch("SELECT partner_id FROM lending_loan WHERE id = %s", [loan_id])
    totals = {r[0]: r[1:] for r in _fetch(
        """SELECT funder_id, principal, interest, penalty, compound
             FROM lending_position_totals(%s, %s) WHERE program_id = %s""",
        [day, partner_id, program_id])}
    assert totals == python


@EXAMPLES
@given(oldest=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2026, 12, 31))),
       as_of=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
       cuts=st.lists(st.integers(1, 400), min_size=4, max_size=4, unique=True).map(sorted))
def test_aging_class_in_sql_equals_the_domain(oldest, as_of, cuts):
    thresholds = ClassThresholds(*cuts)
    dpd = days_past_due(oldest, as_of)
    ((sql_dpd, sql_class),) = _fetch(
        f"""SELECT x.dpd, {risk_class_sql('x')} FROM (
                SELECT {dpd_sql('%(o)s::date', '%(d)s::date')} AS dpd,
                       %(s)s AS special_mention_dpd, %(u)s AS substandard_dpd,
                       %(b)s AS doubtful_dpd, %(l)s AS loss_dpd) x""",
        {"o": oldest, "d": as_of, "s": cuts[0], "u": cuts[1], "b": cuts[2], "l": cuts[3]})
    assert (sql_dpd, sql_class) == (dpd, risk_class(dpd, thresholds).value)


@EXAMPLES
@given(dpd=st.integers(0, 400), after=st.integers(1, 200), accruing=st.booleans())
def test_accrual_switch_in_sql_equals_the_domain(dpd, after, accruing):
    ((sql_accruing,),) = _fetch(
        f"SELECT {accruing_sql('%(dpd)s::int', '%(after)s::int', '%(acc)s::boolean')}",
        {"dpd": dpd, "after": after, "acc": accruing})
    assert sql_accruing == (not is_non_accrual(dpd, currently_non_accrual=not accruing,
                                               after_dpd=after))


@EXAMPLES
@given(state=st.sampled_from(list(LoanStatus)), dpd=st.integers(0, 400))
def test_aging_state_in_sql_equals_the_domain(state, dpd):
    ((sql_state,),) = _fetch(f"SELECT {status_sql('%(s)s::varchar', '%(dpd)s::int')}",
                             {"s": str(state), "dpd": dpd})
    assert sql_state == status_after_aging(state, dpd)
