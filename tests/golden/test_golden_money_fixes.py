"""Golden days of issue 20's money fixes, figures worked by hand from DOMAIN.md §3 and §8.

Every loan is ALPHA's, bank 70 % / ALPHA 30 % (ALPHA the residual owner), program CASH
(ACT/360, penalty multiplier 1.5, no grace) unless a test says otherwise.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from tests.golden.helpers import (
    installments,
    loan_row,
    loan_row_in,
    movements,
    pay_row,
    positions,
    program_in,
    settle,
)

pytestmark = pytest.mark.django_db


def _interest(loan_no: str, day: date) -> D:
    return sum((p[1] for p in positions(loan_no, day).values()), D("0"))


def _penalty(loan_no: str, day: date) -> D:
    return sum((p[2] for p in positions(loan_no, day).values()), D("0"))


def _collected(loan_no: str, day: date, component: str) -> D:
    return sum((v for (_f, e, c), v in movements(loan_no, day).items()
                if e == "COLLECT" and c == component), D("0"))


# --- A. A partial prepayment in the first period (DOMAIN §8.4) ---------------------------------


def test_a_partial_prepayment_in_the_first_period_accrues_the_rest_of_the_period(golden):
    d0, pre, nxt, due = date(2026, 1, 5), date(2026, 1, 17), date(2026, 1, 18), date(2026, 2, 5)
    settle(d0, loans=[loan_row("A1", disbursed="2026-01-05", first_due="2026-02-05")])
    settle(pre, repayments=[pay_row("P1", "A1", pre, "3000.00", kind="PREPAYMENT")])
    # Period 1 runs 01-05 → 02-05 (31 days) and its interest is 10,000.00 × 18 % / 12 = 150.00.
    # To 01-17 (12 days): 150.00 × 12/31 = 58.0645 → 58.06; the rest of 3,000.00 is principal
    # 2,941.94, new balance 10,000.00 − 2,941.94 = 7,058.06.
    assert _collected("A1", pre, "INTEREST") == D("58.06")
    assert _collected("A1", pre, "PRINCIPAL") == D("2941.94")
    assert Loan.objects.get(loan_no="A1").principal_outstanding == D("7058.06")
    # The rest of period 1 (19 of its 31 days) accrues a month's interest on the new balance,
    # 7,058.06 × 1.5 % = 105.8709 → 105.87, × 19/31 = 64.8890 → 64.89; one day of it on 01-18:
    # 105.87 / 31 = 3.4152 → 3.42 (not 105.87 / 19 = 5.57).
    settle(nxt)
    assert _interest("A1", nxt) == D("3.42")
    # Instalment 1: the re-amortised annuity of 7,058.06 over 12 months at 1.5 % is
    # 7,058.06 × 0.015 × 1.015^12 / (1.015^12 − 1) = 647.08, its principal 647.08 − 105.87 =
    # 541.21; interest 58.06 + 64.89 = 122.95. Still owed on 02-05: 541.21 + 64.89 = 606.10.
    inst1 = installments("A1")[0]
    assert inst1[2] - inst1[4] == D("541.21")
    assert inst1[3] == D("122.95")
    settle(due, repayments=[pay_row("T1", "A1", due, "606.10")])
    assert _collected("A1", due, "INTEREST") == D("64.89")
    assert _collected("A1", due, "PRINCIPAL") == D("541.21")
    assert installments("A1")[0][-1] == "PAID"
    after = date(2026, 2, 6)
    settle(after)
    loan = Loan.objects.get(loan_no="A1")
    assert (loan.state, loan.dpd, loan.overpaid_amount) == ("ACTIVE", 0, 0)
    assert _penalty("A1", after) == 0
    # 7,058.06 − 541.21 = 6,516.85 outstanding; period 2 (02-05 → 03-05, 28 days) accrues
    # 6,516.85 × 1.5 % = 97.75275 → 97.75 instalment interest, one day: 97.75 / 28 = 3.49.
    assert loan.principal_outstanding == D("6516.85")
    assert _interest("A1", after) == D("3.49")


# --- E. DPD and class at closing (DOMAIN §8.9) -------------------------------------------------


def test_e_a_loan_paid_off_while_overdue_has_dpd_0_and_class_normal(golden):
    settle(date(2026, 1, 15), loans=[loan_row("E1")])  # 10,000.00, 18 %, 12 × 916.80
    settle(date(2026, 2, 15))  # instalment 1 (766.80 + 150.00) falls due, unpaid
    settle(date(2026, 2, 16))
    loan = Loan.objects.get(loan_no="E1")
    assert (loan.state, loan.dpd, loan.risk_class) == ("OVERDUE", 1, "SPECIAL_MENTION")
    off = date(2026, 2, 17)
    # Owed on 02-17 (penalty rate 18 % × 1.5 = 27 %, /360, 2 days from 02-15):
    #   penalty 766.80 × 0.27 × 2/360 = 1.1502 → 1.15; compound 150.00 × 0.27 × 2/360 = 0.225
    #   → 0.23; instalment 1 916.80; period 2 (02-15 → 03-15, 28 days, interest 9,233.20 × 1.5 %
    #   = 138.50) for 2 days 138.50 × 2/28 = 9.89; principal not yet due 10,000.00 − 766.80 =
    #   9,233.20. Payoff = 1.15 + 0.23 + 916.80 + 9.89 + 9,233.20 = 10,161.27.
    settle(off, repayments=[pay_row("P1", "E1", off, "10161.27", kind="PAYOFF")])
    loan = Loan.objects.get(loan_no="E1")
    assert (loan.state, loan.overpaid_amount, loan.principal_outstanding) == ("PAID_OFF", 0, 0)
    assert (loan.dpd, loan.risk_class) == (0, "NORMAL")
    later = date(2026, 3, 20)
    settle(later)
    loan = Loan.objects.get(loan_no="E1")
    assert (loan.state, loan.dpd, loan.risk_class) == ("PAID_OFF", 0, "NORMAL")


def test_e_a_written_off_loan_keeps_the_dpd_and_class_of_its_write_off_day(golden):
    program_in(golden, "WO91", "write-off at 91", claim_trigger_dpd=None, write_off_dpd=91)
    settle(date(2026, 1, 15), loans=[loan_row_in("WO91", "W1")])
    settle(date(2026, 2, 15))  # instalment 1 due, never paid
    settle(date(2026, 5, 16))  # 02-15 + 90 days: DPD 90, still 关注
    loan = Loan.objects.get(loan_no="W1")
    assert (loan.state, loan.dpd, loan.risk_class) == ("OVERDUE", 90, "SPECIAL_MENTION")
    wo = date(2026, 5, 17)  # DPD 91: written off, and the day's class is 次级 (from DPD 91)
    settle(wo)
    loan = Loan.objects.get(loan_no="W1")
    assert (loan.state, loan.written_off_on) == ("WRITTEN_OFF", wo)
    assert (loan.dpd, loan.risk_class) == (91, "SUBSTANDARD")
    settle(date(2026, 8, 20))  # frozen
    loan = Loan.objects.get(loan_no="W1")
    assert (loan.dpd, loan.risk_class) == (91, "SUBSTANDARD")


# --- §8.5 An irregular first period ------------------------------------------------------------


def test_a_short_first_period_accrues_its_actual_days(golden):
    d0, mid, due = date(2026, 1, 15), date(2026, 1, 18), date(2026, 1, 22)
    settle(d0, loans=[loan_row("S1", disbursed="2026-01-15", first_due="2026-01-22")])
    # First period 01-15 → 01-22, 7 days at ACT/360: 10,000.00 × 18 % × 7/360 = 35.00 (not a
    # month's 150.00). Level instalment stays the annuity 916.80 (principal 916.80 − 150.00 =
    # 766.80); instalment 1 = 916.80 + (35.00 − 150.00) = 801.80. Instalment 2 as regular:
    # 9,233.20 × 1.5 % = 138.50 + 778.30 = 916.80.
    rows = installments("S1")
    assert rows[0][:4] == (1, due, D("766.80"), D("35.00"))
    assert rows[1][:4] == (2, date(2026, 2, 22), D("778.30"), D("138.50"))
    assert sum((r[2] for r in rows), D("0")) == D("10000.00")
    settle(mid)
    assert _interest("S1", mid) == D("15.00")  # 35.00 × 3/7
    settle(due, repayments=[pay_row("T1", "S1", due, "801.80")])
    assert _collected("S1", due, "INTEREST") == D("35.00")
    assert _collected("S1", due, "PRINCIPAL") == D("766.80")
    after = date(2026, 1, 23)
    settle(after)
    loan = Loan.objects.get(loan_no="S1")
    assert (loan.state, loan.dpd, loan.overpaid_amount) == ("ACTIVE", 0, 0)
    assert installments("S1")[0][-1] == "PAID"
    assert _interest("S1", after) == D("4.47")  # 138.50 / 31 = 4.4677


def test_a_prepayment_in_a_short_first_period_accrues_its_remaining_actual_days(golden):
    d0, pre, due = date(2026, 1, 15), date(2026, 1, 18), date(2026, 1, 22)
    settle(d0, loans=[loan_row("S2", disbursed="2026-01-15", first_due="2026-01-22")])
    settle(pre, repayments=[pay_row("P1", "S2", pre, "5015.00", kind="PREPAYMENT")])
    # To 01-18: 35.00 × 3/7 = 15.00 interest, 5,000.00 principal; new balance 5,000.00. The
    # remaining 4 days accrue 5,000.00 × 18 % × 4/360 = 10.00 (§8.4 with §8.5).
    assert _collected("S2", pre, "INTEREST") == D("15.00")
    assert _collected("S2", pre, "PRINCIPAL") == D("5000.00")
    # Re-amortised level instalment of 5,000.00 over 12 at 1.5 %: 5,000.00 × 0.0916800 = 458.40,
    # principal 458.40 − 75.00 = 383.40; instalment 1 still owes 383.40 + 10.00 = 393.40.
    inst1 = installments("S2")[0]
    assert inst1[3] == D("25.00")  # 15.00 + 10.00
    assert inst1[2] - inst1[4] == D("383.40")
    settle(due, repayments=[pay_row("T1", "S2", due, "393.40")])
    assert installments("S2")[0][-1] == "PAID"
    assert Loan.objects.get(loan_no="S2").principal_outstanding == D("4616.60")


# --- B. Reversing a PAYOFF or a PREPAYMENT restores the loan (DOMAIN §8.3) ---------------------

# 4,000.00 at 15 %, 6 equal instalments, disbursed 01-05, first due 02-05 (1.25 % a month).
# Annuity 4,000.00 × 0.0125 × 1.0125^6 / (1.0125^6 − 1) = 696.14. Row 1: interest 50.00,
# principal 646.14, balance 3,353.86; row 2: interest 3,353.86 × 1.25 % = 41.92, principal
# 696.14 − 41.92 = 654.22.
B_LOAN = {"principal": "4000.00", "rate": "0.15", "term": 6, "disbursed": "2026-01-05",
          "first_due": "2026-02-05"}


def _restored_and_paid_on_time(loan_no: str, pay_day: date, rev: date) -> None:
    # Period 1 (01-05 → 02-05, 31 days): 50.00 × 16/31 = 25.806 → 25.81 at the day-end of
    # 01-21, and growing: 50.00 × 17/31 = 27.419 → 27.42 on 01-22.
    assert _interest(loan_no, rev) == D("25.81")
    nxt = date(2026, 1, 22)
    settle(nxt)
    assert _interest(loan_no, nxt) == D("27.42")
    rows = installments(loan_no)
    assert rows[0][2:] == (D("646.14"), D("50.00"), 0, 0, "PENDING")
    assert rows[1][2:] == (D("654.22"), D("41.92"), 0, 0, "PENDING")
    assert all(r[-1] == "PENDING" for r in rows)
    assert sum((r[2] for r in rows), D("0")) == D("4000.00")
    loan = Loan.objects.get(loan_no=loan_no)
    assert (loan.state, loan.principal_outstanding, loan.closed_on) == (
        "ACTIVE", D("4000.00"), None)
    due = date(2026, 2, 5)
    settle(due, repayments=[pay_row("T-" + loan_no, loan_no, due, "696.14")])
    assert _collected(loan_no, due, "INTEREST") == D("50.00")
    assert _collected(loan_no, due, "PRINCIPAL") == D("646.14")
    assert installments(loan_no)[0][-1] == "PAID"
    after = date(2026, 2, 6)
    settle(after)
    loan = Loan.objects.get(loan_no=loan_no)
    assert (loan.state, loan.dpd, loan.overpaid_amount) == ("ACTIVE", 0, 0)
    assert loan.principal_outstanding == D("3353.86")
    assert _penalty(loan_no, after) == 0
    assert all(r[-1] == "PENDING" for r in installments(loan_no)[1:])


def test_b_reversing_a_payoff_restores_the_loan(golden):
    settle(date(2026, 1, 5), loans=[loan_row("B1", **B_LOAN)])
    off, rev = date(2026, 1, 19), date(2026, 1, 21)
    # Payoff on 01-19: interest 50.00 × 14/31 = 22.58 + principal 4,000.00 = 4,022.58.
    settle(off, repayments=[pay_row("P1", "B1", off, "4022.58", kind="PAYOFF")])
    assert Loan.objects.get(loan_no="B1").state == "PAID_OFF"
    settle(rev, reversals=[("R1", "P1", rev, "4022.58", "chargeback")])
    # The payoff's movements negated with their original split: principal 2,800.00 / 1,200.00,
    # interest HALF_UP(22.58 × 0.7) = 15.81 / 6.77.
    m = movements("B1", rev)
    assert (m[("BANK", "COLLECT", "PRINCIPAL")], m[("ALPHA", "COLLECT", "PRINCIPAL")]) == (
        D("-2800.00"), D("-1200.00"))
    assert (m[("BANK", "COLLECT", "INTEREST")], m[("ALPHA", "COLLECT", "INTEREST")]) == (
        D("-15.81"), D("-6.77"))
    _restored_and_paid_on_time("B1", off, rev)


def test_b_reversing_a_prepayment_restores_the_schedule(golden):
    settle(date(2026, 1, 5), loans=[loan_row("B2", **B_LOAN)])
    pre, rev = date(2026, 1, 19), date(2026, 1, 21)
    # 1,000.00 on 01-19: interest 22.58, principal 977.42 (balance 3,022.58, re-amortised).
    settle(pre, repayments=[pay_row("P2", "B2", pre, "1000.00", kind="PREPAYMENT")])
    assert _collected("B2", pre, "PRINCIPAL") == D("977.42")
    assert installments("B2")[1][2] != D("654.22")  # the schedule was re-amortised
    settle(rev, reversals=[("R2", "P2", rev, "1000.00", "chargeback")])
    _restored_and_paid_on_time("B2", pre, rev)


# --- §8.3 Penalty after a reversal runs from the due date (+ grace) ---------------------------


def test_penalty_after_a_reversal_runs_from_the_due_date(golden):
    d0, due, rev, nxt = date(2026, 1, 15), date(2026, 2, 15), date(2026, 2, 17), date(2026, 2, 18)
    settle(d0, loans=[loan_row("R1")])  # 10,000.00, 18 %, instalment 1 = 766.80 + 150.00
    settle(due, repayments=[pay_row("T1", "R1", due, "916.80")])
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])
    # Unpaid again since 02-15; penalty rate 27 %/360 = 0.075 %/day from 02-15, crystallised
    # on 02-17 for 2 days: 766.80 × 0.00075 × 2 = 1.1502 → 1.15, compound 150.00 × 0.00075 × 2
    # = 0.225 → 0.23: 1.38 (not 0 as when penalty restarted on the reversal day).
    assert _penalty("R1", rev) == D("1.38")
    settle(nxt)
    # 3 days from the due date: 1.15 + 0.23 + one more day 0.5751 → 0.58 and 0.1125 → 0.11
    # = 2.07 (= 766.80 × 0.00075 × 3 = 1.7253 → 1.73 plus 150.00 × 0.00075 × 3 = 0.3375 → 0.34).
    assert _penalty("R1", nxt) == D("2.07")
    loan = Loan.objects.get(loan_no="R1")
    assert (loan.state, loan.dpd) == ("OVERDUE", 3)


def test_penalty_after_a_reversal_starts_after_the_grace_days(golden):
    program_in(golden, "GR3", "grace 3", grace_days=3)
    d0, due = date(2026, 1, 15), date(2026, 2, 15)
    settle(d0, loans=[loan_row_in("GR3", "G1")])
    settle(due, repayments=[pay_row("T1", "G1", due, "916.80")])
    rev = date(2026, 2, 20)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])
    # Grace to 02-18: penalty from 02-18 to 02-20, 2 days: 1.15 + 0.23 = 1.38 (from the due
    # date it would be 5 days: 2.88 + 0.56).
    assert _penalty("G1", rev) == D("1.38")
    assert installments("G1")[0][-1] == "OVERDUE"
