"""Reversing a payment that a later one followed (DOMAIN §8.3, the oracle's REPLAY class).

"A reversal restores the loan as if the reversed payment had never been made": the later
payment is then allocated as it would have been — to the oldest instalment first (§8.2), with
the penalty that instalment would have run up. The run rebuilds the loan from its state at the
start of the reversed payment's business day (lending_loansnapshot) and replays the days since
without it; before, the later payment kept its allocation and the reversed one's instalment
became overdue from its due date, with the penalty of a month.

The golden loan: 10,000.00 / 18 % / 12 months, EQUAL_INSTALLMENT, disbursed 01-15, first due
Sunday 02-15: instalment 1 = 766.80 principal + 150.00 interest, instalment 2 (03-15) = 778.30
+ 138.50. Program CASH: ACT/360, penalty multiplier 1.5 (27 % a year), no grace. Bank 70 % /
ALPHA 30 % (ALPHA the residual).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Loan
from lending.settlement.models import Claim, Movement
from tests.golden.helpers import (
    gl,
    hu,
    installments,
    loan_row,
    loan_row_in,
    movements,
    pay_row,
    program_in,
    settle,
)

pytestmark = pytest.mark.django_db

PEN = D("0.27") / 360  # the penalty rate a day, ACT/360
REV = date(2026, 3, 18)


def _loan_paid_twice(no: str) -> None:
    settle(date(2026, 1, 15), loans=[loan_row(no)])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", no, "2026-02-15", "916.80")])
    settle(date(2026, 3, 16), repayments=[pay_row("T2", no, "2026-03-15", "916.80")])
    assert [i[4:7] for i in installments(no)[:2]] == [
        (D("766.80"), D("150.00"), "PAID"), (D("778.30"), D("138.50"), "PAID")]


def test_reversing_a_payment_re_allocates_the_later_one_as_if_it_had_never_been_made(golden):
    _loan_paid_twice("R1")
    settle(REV, reversals=[("V1", "T1", REV, "916.80", "bounced")])

    # Without T1, instalment 1 is overdue from 02-16; T2's 916.80 on 03-15 pays its penalty
    # (766.80 × 28 days = 16.10) and compound interest (150.00 × 28 days = 3.15), its interest
    # 150.00 and 747.55 of its principal, and nothing of instalment 2.
    assert hu(D("766.80") * PEN * 28) == D("16.10") and hu(D("150.00") * PEN * 28) == D("3.15")
    assert [i[4:7] for i in installments("R1")[:2]] == [
        (D("747.55"), D("150.00"), "OVERDUE"), (D("0.00"), D("0.00"), "OVERDUE")]
    loan = Loan.objects.get(loan_no="R1")
    assert loan.principal_outstanding == D("9252.45")
    assert loan.overpaid_amount == 0
    # From 03-15 to the reversal day (3 days), rounded once on the reversal day (§8.3, §8.6):
    # penalty on 19.25 + 778.30 = 797.55, compound on instalment 2's 138.50.
    assert (loan.penalty_outstanding, loan.compound_outstanding) == (
        hu(D("797.55") * PEN * 3), hu(D("138.50") * PEN * 3)) == (D("1.79"), D("0.31"))
    # (in place, T2 kept on instalment 2, it was 766.80 and 150.00 for 31 days: 17.83 + 3.49)

    # The day's movements: T1 negated funder by funder as the reversal's, and T2's allocation
    # moved, recorded under T2 (negated, then again as replayed): their net is T1's amount.
    m = movements("R1", REV)
    net = {c: sum((a for (_f, e, cc), a in m.items() if cc == c and e == "COLLECT"), D(0))
           for c in ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND")}
    assert net == {"PRINCIPAL": D("-797.55"), "INTEREST": D("-138.50"),
                   "PENALTY": D("16.10"), "COMPOUND": D("3.15")}
    assert sum(net.values()) == D("-916.80")
    rows = Movement.objects.filter(loan__loan_no="R1", business_date=REV)
    assert sum(r.amount for r in rows if r.reversal) == D("-916.80")  # T1's rows, negated
    assert sum(r.amount for r in rows if not r.reversal) == 0  # T2: re-allocated, same money
    assert gl(chart.OVERPAYMENT_SUSPENSE, REV) == 0


def test_the_re_allocated_payment_can_itself_be_reversed_afterwards(golden):
    # T2's rows net to its replayed allocation: reversing T2 too leaves both instalments
    # wholly unpaid, with penalty from each due date, and nothing collected on the loan.
    _loan_paid_twice("R2")
    settle(REV, reversals=[("V1", "T1", REV, "916.80", "bounced")])
    rev2 = date(2026, 3, 19)
    settle(rev2, reversals=[("V2", "T2", rev2, "916.80", "bounced")])
    assert [i[4:6] for i in installments("R2")[:2]] == [(D("0.00"), D("0.00"))] * 2
    loan = Loan.objects.get(loan_no="R2")
    assert loan.principal_outstanding == D("10000.00")
    collected = Movement.objects.filter(loan__loan_no="R2", event="COLLECT")
    assert sum(r.amount for r in collected) == 0
    # The loan is rebuilt from T1's day without either payment (T1's reversal since is kept as
    # its day's rounding point, §8.3, §8.6): penalty on instalment 1's 766.80 from 02-16 and
    # on 778.30 from 03-16, compound on 150.00 and 138.50 likewise, rounded on 03-18 (31 and 3
    # days) and on 03-19 (one more day).
    assert loan.penalty_outstanding == hu(D("766.80") * PEN * 31 + D("778.30") * PEN * 3) + hu(
        D("1545.10") * PEN) == D("19.58") + D("1.16")
    assert loan.compound_outstanding == hu(D("150.00") * PEN * 31 + D("138.50") * PEN * 3) + hu(
        D("288.50") * PEN) == D("3.80") + D("0.22")
    assert sum(r.amount for r in Movement.objects.filter(loan__loan_no="R2", event="COLLECT",
                                                         business_date=rev2)) == D("-916.80")


def test_a_claim_the_loan_would_have_had_is_raised_on_its_day(golden):
    # Program CL: claim (代偿) at DPD 3. T1 paid instalment 1 on its due date; reversed on
    # 02-20, the loan rebuilt without it reaches DPD 3 on 02-18 and raises the claim then
    # (restored in place, the reversal day's aging raised it on 02-20, with two days more
    # penalty in it). Scope: principal and billed interest of the bank's 70 %.
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C1")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "C1", "2026-02-15", "916.80")])
    for day in (17, 18, 19):  # the business days in between, settled (nothing for C1)
        settle(date(2026, 2, day))
    settle(date(2026, 2, 20), reversals=[("V1", "T1", date(2026, 2, 20), "916.80", "bounced")])
    claim = Claim.objects.get(loan__loan_no="C1")
    assert claim.raised_on == date(2026, 2, 18)
    assert (claim.principal, claim.interest) == (D("7000.00"), D("105.00"))
    assert Loan.objects.get(loan_no="C1").claim_raised_on == date(2026, 2, 18)
