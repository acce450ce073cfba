"""PER_FUNDER_RATE (DOMAIN §3.5, R11): each funder's interest is from its own balance at its own
rate, so the interest weights follow the balances (the oracle's PF_SPLIT: the engine had kept
the weights of the funded principal at booking)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from lending.domain.loan_day import loan_day
from lending.domain.weights import accrual_weights
from tests.unit.settlement.test_engine import BANK, PLAT, loan, pay, terms


def _per_funder_loan():
    # 10,000.00 at the blended 16 %: the bank's 7,000.00 at 10 %, the platform's 3,000.00 at
    # 30 %; at booking the bank's weight is 700 / 1,600 = 0.4375 exactly
    ln = loan(rate=D("0.16"))
    ln.shares[BANK].rate, ln.shares[PLAT].rate = D("0.10"), D("0.30")
    ln.shares[BANK].accrual_weight, ln.shares[PLAT].accrual_weight = D("0.4375"), D("0.5625")
    return ln, terms(annual_rate=D("0.16"), interest_rule="PER_FUNDER_RATE")


def test_the_interest_weights_follow_the_balances_after_a_repayment():
    ln, t = _per_funder_loan()
    due = ln.insts[0]
    loan_day(ln, t, date(2024, 2, 15), [pay(str(due.principal_due + due.interest_due))])
    bank, plat = ln.shares[BANK].principal, ln.shares[PLAT].principal
    assert bank + plat == D("10000.00") - due.principal_due
    own = {BANK: bank * D("0.10"), PLAT: plat * D("0.30")}
    assert ln.shares[BANK].accrual_weight == (own[BANK] / (own[BANK] + own[PLAT])).quantize(
        D("1E-12"))
    assert ln.shares[BANK].accrual_weight != D("0.4375")  # the principal split rounded
    assert ln.shares[BANK].accrual_weight == accrual_weights(
        "PER_FUNDER_RATE", {BANK: bank, PLAT: plat}, {BANK: D("0.10"), PLAT: D("0.30")})[BANK]


def test_a_pro_rata_loan_keeps_its_weights():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    assert (ln.shares[BANK].accrual_weight, ln.shares[PLAT].accrual_weight) == (D("0.7"),
                                                                               D("0.3"))
