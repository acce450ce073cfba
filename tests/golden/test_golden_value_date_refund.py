"""Golden days of DOMAIN §8.11 (value date) and §8.8 (refund of the advance at closing),
found by the model-based oracle (issue 20). Figures worked by hand from DOMAIN.md.

ALPHA's loans, bank 70 % / ALPHA 30 % (ALPHA the residual), program CASH (ACT/360, penalty
multiplier 1.5, no grace). A payment made on a weekend or holiday arrives in the next business
day's file with its own `paid_on`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Loan
from tests.golden.helpers import (
    gl,
    installments,
    loan_row,
    movements,
    pay_row,
    positions,
    settle,
    statement,
)

pytestmark = pytest.mark.django_db


def _sum(loan_no: str, day: date, event: str, component: str) -> D:
    return sum((v for (_f, e, c), v in movements(loan_no, day).items()
                if e == event and c == component), D("0"))


# --- §8.11: a payment counts from its paid_on ---------------------------------------------------


def test_an_instalment_paid_on_its_sunday_due_date_is_not_overdue(golden):
    # 10,000.00 at 18 %, 12 × 916.80 (766.80 principal + 150.00 interest), due 2026-02-15, a
    # Sunday. The borrower pays 916.80 that day; the platform's file of Monday 02-16 has it.
    settle(date(2026, 1, 15), loans=[loan_row("V1")])
    monday = date(2026, 2, 16)
    settle(monday, repayments=[pay_row("T1", "V1", "2026-02-15", "916.80")])
    # Paid in full on its due date: no penalty (processed on the due date it would have been
    # 766.80 × 27 % / 360 = 0.58 and 150.00 × 27 % / 360 = 0.11 for Monday, taken first).
    assert _sum("V1", monday, "COLLECT", "PRINCIPAL") == D("766.80")
    assert _sum("V1", monday, "COLLECT", "INTEREST") == D("150.00")
    assert _sum("V1", monday, "COLLECT", "PENALTY") == 0
    seq1 = installments("V1")[0]
    assert seq1[-1] == "PAID"
    loan = Loan.objects.get(loan_no="V1")
    assert (loan.state, loan.dpd, loan.risk_class) == ("ACTIVE", 0, "NORMAL")
    assert loan.installments.get(seq=1).paid_on == date(2026, 2, 15)


def test_a_saturday_prepayment_pays_interest_to_its_paid_on_not_to_monday(golden):
    # As golden A: 10,000.00 at 18 %, disbursed Monday 2026-01-05, period 1 to 02-05 (31 days,
    # interest 150.00). PREPAYMENT 3,000.00 made on Saturday 01-17, in Monday 01-19's file.
    settle(date(2026, 1, 5), loans=[loan_row("V2", disbursed="2026-01-05",
                                             first_due="2026-02-05")])
    monday = date(2026, 1, 19)
    settle(monday, repayments=[pay_row("P1", "V2", "2026-01-17", "3000.00",
                                       kind="PREPAYMENT")])
    # Interest to the paid_on: 150.00 × 12/31 = 58.06 (to Monday it would be 14/31 = 67.74);
    # principal 3,000.00 − 58.06 = 2,941.94; new balance 7,058.06.
    assert _sum("V2", monday, "COLLECT", "INTEREST") == D("58.06")
    assert _sum("V2", monday, "COLLECT", "PRINCIPAL") == D("2941.94")
    assert Loan.objects.get(loan_no="V2").principal_outstanding == D("7058.06")
    # From Saturday the rest of the period accrues a month's interest on 7,058.06 (105.87) for
    # 19 of 31 days; Saturday → Monday is 2 days: 105.87 × 2/31 = 6.8303 → 6.83.
    interest = sum((p[1] for p in positions("V2", monday).values()), D("0"))
    assert interest == D("6.83")


# --- §8.8: the advance left at closing is refunded through the partner ---------------------------


def test_an_advance_left_at_payoff_is_a_refund_line_and_leaves_suspense(golden):
    settle(date(2026, 1, 15), loans=[loan_row("R1")])
    adv = date(2026, 1, 20)
    # Nothing is due yet: a SCHEDULED 500.00 is the borrower's advance (suspense).
    settle(adv, repayments=[pay_row("T1", "R1", adv, "500.00")])
    assert Loan.objects.get(loan_no="R1").overpaid_amount == D("500.00")
    net, lines = statement("ALPHA", adv)
    assert lines == {"OVERPAYMENT": D("500.00")}
    assert gl(chart.OVERPAYMENT_SUSPENSE, adv) == D("500.00")
    off = date(2026, 1, 22)
    # PAYOFF on 01-22: interest 01-15 → 01-22, 7 of 31 days of 150.00 = 33.87, and 10,000.00
    # principal, brought by the payment itself and 150.00 more: 10,183.87.
    settle(off, repayments=[pay_row("P1", "R1", off, "10183.87", kind="PAYOFF")])
    loan = Loan.objects.get(loan_no="R1")
    assert (loan.state, loan.overpaid_amount) == ("PAID_OFF", 0)
    assert _sum("R1", off, "COLLECT", "INTEREST") == D("33.87")
    assert _sum("R1", off, "OVERPAY", "OVERPAYMENT") == D("150.00")
    # Everything the borrower has in advance, 500.00 + 150.00, goes back through ALPHA.
    assert _sum("R1", off, "REFUND", "OVERPAYMENT") == D("650.00")
    net, lines = statement("ALPHA", off)
    assert lines["REFUND"] == D("-650.00") and lines["OVERPAYMENT"] == D("150.00")
    assert net == sum(lines.values(), D("0"))
    assert gl(chart.OVERPAYMENT_SUSPENSE, off) == 0


def test_reversing_the_payoff_holds_the_refunded_advance_again(golden):
    settle(date(2026, 1, 15), loans=[loan_row("R2")])
    adv, off, rev = date(2026, 1, 20), date(2026, 1, 22), date(2026, 1, 23)
    settle(adv, repayments=[pay_row("T1", "R2", adv, "500.00")])
    settle(off, repayments=[pay_row("P1", "R2", off, "10033.87", kind="PAYOFF")])
    assert _sum("R2", off, "REFUND", "OVERPAYMENT") == D("500.00")
    settle(rev, reversals=[("V1", "P1", rev, "10033.87", "bounced")])
    loan = Loan.objects.get(loan_no="R2")
    assert (loan.state, loan.overpaid_amount) == ("ACTIVE", D("500.00"))
    assert loan.principal_outstanding == D("10000.00")
    net, lines = statement("ALPHA", rev)
    assert lines["REVERSAL_REFUND"] == D("500.00")
    assert gl(chart.OVERPAYMENT_SUSPENSE, rev) == D("500.00")


# --- §8.2 after §8.3: a SCHEDULED payment pays only what has fallen due ---------------------------


def test_interest_crystallised_by_a_reversal_is_not_taken_by_a_scheduled_payment(golden):
    # 1,000.80 at 12 %, 7 months, disbursed 2026-03-02: period 1 to 04-02 (31 days) accrues
    # 1,000.80 × 1 % = 10.01. A PREPAYMENT on 03-06 is reversed on 03-11 (§8.3): the period is
    # as if never prepaid and its interest to 03-11 is crystallised then, 10.01 × 9/31 = 2.91.
    d0, pre, rev, nxt = (date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 11),
                         date(2026, 3, 12))
    settle(d0, loans=[loan_row("S1", principal="1000.80", rate="0.12", term=7,
                               disbursed="2026-03-02", first_due="2026-04-02")])
    settle(pre, repayments=[pay_row("P1", "S1", pre, "187.49", kind="PREPAYMENT")])
    settle(rev, reversals=[("V1", "P1", rev, "187.49", "chargeback")])
    loan = Loan.objects.get(loan_no="S1")
    assert loan.principal_outstanding == D("1000.80")
    assert loan.interest_outstanding == D("2.91")
    # Nothing has fallen due on 03-12: a SCHEDULED 3.49 is the borrower's advance, all of it;
    # the crystallised 2.91 waits for its billing on 04-02.
    settle(nxt, repayments=[pay_row("T1", "S1", nxt, "3.49")])
    assert _sum("S1", nxt, "COLLECT", "INTEREST") == 0
    assert _sum("S1", nxt, "OVERPAY", "OVERPAYMENT") == D("3.49")
    loan = Loan.objects.get(loan_no="S1")
    assert (loan.overpaid_amount, loan.interest_outstanding) == (D("3.49"), D("2.91"))


# --- §8.3: a reversed prepayment while another stands ------------------------------------------


def test_reversing_one_prepayment_keeps_the_other_in_the_schedule(golden):
    # 17,560.29 at 18 %, EQUAL_PRINCIPAL over 5 months, disbursed 2026-03-04 (period 1 to 04-04,
    # 31 days, a month's interest 263.40).
    settle(date(2026, 3, 4), loans=[loan_row("Q1", principal="17560.29", term=5,
                                             method="EQUAL_PRINCIPAL", disbursed="2026-03-04",
                                             first_due="2026-04-04")])
    # PREPAYMENT 231.83 on 03-11: interest 263.40 × 7/31 = 59.48, principal 172.35; balance
    # 17,387.94, whose month's interest is 260.82.
    settle(date(2026, 3, 11), repayments=[pay_row("P1", "Q1", "2026-03-11", "231.83",
                                                  kind="PREPAYMENT")])
    # PREPAYMENT 588.23 on 03-17 (interest 260.82 × 6/31 = 50.48), reversed on 03-18.
    settle(date(2026, 3, 17), repayments=[pay_row("P2", "Q1", "2026-03-17", "588.23",
                                                  kind="PREPAYMENT")])
    rev = date(2026, 3, 18)
    settle(rev, reversals=[("V2", "P2", rev, "588.23", "chargeback")])
    # As if P2 had never been made, P1 still standing: the balance is 17,387.94 again and
    # period 1 accrued on it from 03-11: 50.48 (owed again) + one day of the rest of the
    # period (18 days, 260.82 × 18/31 = 151.44; 151.44 / 18 = 8.41) = 58.89 (260.82 × 7/31).
    loan = Loan.objects.get(loan_no="Q1")
    assert loan.principal_outstanding == D("17387.94")
    assert loan.interest_outstanding == D("58.89")
    # Instalment 1: P1's 172.35 + 17,387.94 / 5 = 3,477.59 → 3,649.94 principal; interest
    # 59.48 paid + the rest of the period from P1's date on 17,387.94, rounded once (§8.4,
    # §8.6): 260.82 × 24/31 = 201.93 → 261.41 (not the original schedule's 3,512.06 and
    # 263.40, which ignored the standing prepayment; nor 59.48 + 50.48 + 151.44 = 261.40,
    # rounded at P2's date as well, which the loan rebuilt without P2 no longer has).
    seq1 = installments("Q1")[0]
    assert (seq1[2], seq1[3]) == (D("3649.94"), D("261.41"))
    assert installments("Q1")[1][2] == D("3477.59")


# --- §8.8 with §8.11: the advance pays an instalment due on a holiday on its due date ---------


def test_an_advance_pays_the_instalment_due_on_a_holiday_on_its_due_date(golden):
    # 10,000.00 at 18 %, 12 × 916.80 (766.80 principal + 150.00 interest), disbursed 2026-03-06,
    # first due Monday 2026-04-06 — 清明, a holiday (04-04 … 04-06); the next business day is
    # Tuesday 04-07. The borrower paid 916.80 in advance on 03-20 (nothing due: suspense).
    settle(date(2026, 3, 6), loans=[loan_row("H1", disbursed="2026-03-06",
                                             first_due="2026-04-06")])
    settle(date(2026, 3, 20), repayments=[pay_row("T1", "H1", "2026-03-20", "916.80")])
    assert Loan.objects.get(loan_no="H1").overpaid_amount == D("916.80")
    tuesday = date(2026, 4, 7)
    settle(date(2026, 4, 3))
    settle(tuesday)
    # The advance pays instalment 1 on 04-06: no penalty (applied on Tuesday it would first have
    # taken 766.80 × 27 % / 360 = 0.58 and 150.00 × 27 % / 360 = 0.11 of it, and left the
    # instalment 0.69 short, overdue).
    assert _sum("H1", tuesday, "SUSPENSE_APPLY", "PENALTY") == 0
    assert _sum("H1", tuesday, "SUSPENSE_APPLY", "COMPOUND") == 0
    assert _sum("H1", tuesday, "SUSPENSE_APPLY", "INTEREST") == D("150.00")
    assert _sum("H1", tuesday, "SUSPENSE_APPLY", "PRINCIPAL") == D("766.80")
    loan = Loan.objects.get(loan_no="H1")
    assert (loan.state, loan.dpd, loan.overpaid_amount) == ("ACTIVE", 0, D("0.00"))
    inst = loan.installments.get(seq=1)
    assert (inst.status, inst.paid_on) == ("PAID", date(2026, 4, 6))
