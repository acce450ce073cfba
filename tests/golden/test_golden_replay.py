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
from lending.domain.aging import ClassThresholds, risk_class
from lending.models import Loan
from lending.settlement.models import Claim, Movement
from lending.settlement.steps.replay import snapshots_purge
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
    shares,
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


def test_a_write_off_the_loan_would_have_had_is_made_on_its_day(golden):
    # Program WO: write-off (核销) at DPD 3. T1 paid instalment 1 on its due date (Sunday
    # 02-15); T2 100.00 on 02-19 found nothing due and went to suspense. T1 reversed on 02-20:
    # without it the loan reaches DPD 3 on 02-18 and is written off then, so T2 is a recovery
    # (§7.10), and the loan keeps the DPD and class of 02-18 (§8.9). In place, it stayed
    # ACTIVE with the loans receivable and T2 in suspense.
    program_in(golden, "WO", "write-off", claim_trigger_dpd=None, write_off_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("WO", "W1")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "W1", "2026-02-15", "916.80")])
    settle(date(2026, 2, 17))
    settle(date(2026, 2, 18))
    settle(date(2026, 2, 19), repayments=[pay_row("T2", "W1", "2026-02-19", "100.00")])
    rev = date(2026, 2, 20)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "bounced")])

    loan = Loan.objects.get(loan_no="W1")
    assert (loan.state, loan.written_off_on, loan.dpd) == ("WRITTEN_OFF", date(2026, 2, 18), 3)
    g = loan.program
    assert loan.risk_class == risk_class(3, ClassThresholds(
        g.special_mention_dpd, g.substandard_dpd, g.doubtful_dpd, g.loss_dpd)) != "NORMAL"
    # Written off on 02-18 (posted today): the principal, instalment 1's interest and period
    # 2's accrued 3 of 28 days, penalty and compound of 3 days on instalment 1.
    wo = {c: sum((a for (_f, e, cc), a in movements("W1", rev).items()
                  if e == "WRITE_OFF" and cc == c), D(0))
          for c in ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND")}
    assert wo == {"PRINCIPAL": D("10000.00"), "INTEREST": D("150.00") + hu(D("138.50") * 3 / 28),
                  "PENALTY": hu(D("766.80") * PEN * 3), "COMPOUND": hu(D("150.00") * PEN * 3)}
    assert wo == {"PRINCIPAL": D("10000.00"), "INTEREST": D("164.84"), "PENALTY": D("1.73"),
                  "COMPOUND": D("0.34")}
    # T2 is a recovery split by the written-off amounts (bank 70 %); its suspense is taken
    # back, T1's collection negated: the day's money is T1's amount back.
    m = movements("W1", rev)
    assert (m[("BANK", "WO_RECOVERY", "PRINCIPAL")], m[("ALPHA", "WO_RECOVERY", "PRINCIPAL")]
            ) == (D("70.00"), D("30.00"))
    assert sum(a for (_f, e, _c), a in m.items() if e == "OVERPAY") == D("-100.00")
    rows = Movement.objects.filter(loan__loan_no="W1", business_date=rev)
    assert sum(r.amount for r in rows if r.reversal) == D("-916.80")
    assert gl(chart.LOANS_RECEIVABLE, rev, program="ALPHA/WO") == 0
    assert gl(chart.INTEREST_RECEIVABLE, rev, program="ALPHA/WO") == 0
    assert gl(chart.WRITE_OFF_RECOVERIES, rev, program="ALPHA/WO") == D("70.00")
    assert gl(chart.OVERPAYMENT_SUSPENSE, rev, program="ALPHA/WO") == 0

    # The next day the loan stays as written off on 02-18.
    settle(date(2026, 2, 23))
    loan.refresh_from_db()
    assert (loan.state, loan.dpd, loan.written_off_on) == ("WRITTEN_OFF", 3, date(2026, 2, 18))


def test_reversing_a_payment_of_a_loan_written_off_since_writes_it_off_on_its_day(golden):
    # The same loan with T1 standing is written off on 03-18 (instalment 2 unpaid, DPD 3):
    # 9,233.20 of principal. T1 reversed on 03-19 (a chargeback after the write-off): without
    # it the loan was written off on 02-18 with the whole 10,000.00 (restored in place, T1's
    # 766.80 came back as principal outstanding on a written-off loan, never written off).
    program_in(golden, "WO", "write-off", claim_trigger_dpd=None, write_off_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("WO", "W2")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "W2", "2026-02-15", "916.80")])
    for day in (date(2026, 2, 17), date(2026, 2, 18), date(2026, 3, 16), date(2026, 3, 17)):
        settle(day)
    wo = date(2026, 3, 18)
    settle(wo)
    loan = Loan.objects.get(loan_no="W2")
    assert (loan.state, loan.written_off_on) == ("WRITTEN_OFF", wo)
    assert sum(a for (_f, e, c), a in movements("W2", wo).items()
               if e == "WRITE_OFF" and c == "PRINCIPAL") == D("9233.20")
    rev = date(2026, 3, 19)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])

    loan.refresh_from_db()
    assert (loan.state, loan.written_off_on, loan.dpd) == ("WRITTEN_OFF", date(2026, 2, 18), 3)
    net = {c: sum((a for (_f, e, cc), a in movements("W2", rev).items()
                   if e == "WRITE_OFF" and cc == c), D(0))
           for c in ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND")}
    # 03-18's write-off negated, 02-18's made: the principal T1 had paid is written off too
    assert net["PRINCIPAL"] == D("766.80")
    assert sum(r.amount for r in Movement.objects.filter(
        loan__loan_no="W2", event="WRITE_OFF", component="PRINCIPAL")) == D("10000.00")
    assert sum(r.amount for r in Movement.objects.filter(
        loan__loan_no="W2", event="COLLECT")) == 0
    assert shares("W2") == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}
    assert gl(chart.LOANS_RECEIVABLE, rev, program="ALPHA/WO") == 0
    # the allowance used for the bank's 7,000.00 (a credit-side account, debited)
    assert gl(chart.LOSS_ALLOWANCE, rev, program="ALPHA/WO") == D("-7000.00")


def test_the_replay_ages_its_days_the_accrual_switch_included(golden):
    # Program CASH: non-accrual beyond 90 DPD (R16), back only when the arrears are cleared.
    # T1 paid instalment 1 (02-15); nothing more until Y 3,000.00 on 05-20. With T1 standing,
    # instalment 2 (03-15) is the oldest unpaid: DPD 65 on 05-19, the loan accrues, and Y
    # clears the arrears. T1 reversed on 05-22: without it the loan was 93 DPD on 05-19 and
    # went non-accrual that evening; Y then paid instalment 1 and part of 2, and the loan,
    # still in arrears, stays off balance. Y's rows as replayed carry that flag.
    settle(date(2026, 1, 15), loans=[loan_row("N1")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "N1", "2026-02-15", "916.80")])
    settle(date(2026, 5, 19))
    assert Loan.objects.get(loan_no="N1").accruing
    settle(date(2026, 5, 20), repayments=[pay_row("Y", "N1", "2026-05-20", "3000.00")])
    loan = Loan.objects.get(loan_no="N1")
    assert (loan.dpd, loan.accruing) == (0, True)
    rev = date(2026, 5, 22)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])

    loan.refresh_from_db()
    assert loan.dpd > 0 and not loan.accruing
    replayed = Movement.objects.filter(loan__loan_no="N1", business_date=rev, txn_id__isnull=False,
                                       reversal=False, amount__gt=0)
    assert replayed and not any(r.accruing for r in replayed)
    assert gl(chart.INTEREST_RECEIVABLE, rev) == 0
    assert gl(chart.OFF_BALANCE_INTEREST, rev) > 0


def test_a_claim_raised_before_the_payment_stands_and_the_loan_is_rebuilt(golden):
    # Program CL: the claim (代偿) is raised on 02-18 at DPD 3 and not yet paid. The borrower
    # pays T1 on 02-19: instalment 1 and its penalty and compound of 4 days, rounded at the
    # claim's raise (3 days) and at the payment (1 day): 1.73 + 0.58 and 0.34 + 0.11; and
    # T2 916.80 on its due date 03-15 (a Sunday, settled 03-16), instalment 2. T1 is
    # reversed on 03-18: the loan is rebuilt from 02-19 without it, so T2 pays instalment 1
    # and instalment 2 stays unpaid; the claim stands as raised. (In place, before, T2 kept
    # instalment 2 paid and instalment 1 was overdue again with a month's penalty.)
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C2")])
    for day in (16, 17, 18):
        settle(date(2026, 2, day))
    assert Claim.objects.get(loan__loan_no="C2").raised_on == date(2026, 2, 18)
    t1 = D("916.80") + sum((hu(b * PEN * 3) + hu(b * PEN) for b in (D("766.80"), D("150.00"))),
                           D(0))
    assert t1 == D("919.56")
    settle(date(2026, 2, 19), repayments=[pay_row("T1", "C2", "2026-02-19", str(t1))])
    settle(date(2026, 3, 16), repayments=[pay_row("T2", "C2", "2026-03-15", "916.80")])
    assert [i[6] for i in installments("C2")[:2]] == ["PAID", "PAID"]
    settle(REV, reversals=[("V1", "T1", REV, str(t1), "bounced")])

    claim = Claim.objects.get(loan__loan_no="C2")
    assert (claim.raised_on, claim.principal, claim.interest) == (
        date(2026, 2, 18), D("7000.00"), D("105.00"))
    first, second = installments("C2")[:2]
    assert first[5] == D("150.00") and second[4:6] == (D("0.00"), D("0.00"))
    rows = Movement.objects.filter(loan__loan_no="C2", business_date=REV)
    assert sum(r.amount for r in rows if r.reversal) == -t1
    assert sum(r.amount for r in rows if not r.reversal) == 0


def test_a_reversal_older_than_the_snapshots_kept_restores_the_loan_in_place(golden):
    # Snapshots are kept LOAN_SNAPSHOT_DAYS; the nightly book of days deletes older ones. T1's
    # day (02-16) is gone, T2's (03-16) is kept: reversing T1 restores the loan in place, as
    # before the rebuild. T2 keeps instalment 2; instalment 1 is overdue again from 02-16 with
    # 31 days of penalty and compound interest on its 766.80 and 150.00, rounded once.
    _loan_paid_twice("R3")
    assert snapshots_purge(before=date(2026, 3, 1)) == 1
    settle(REV, reversals=[("V1", "T1", REV, "916.80", "bounced")])
    assert [i[4:7] for i in installments("R3")[:2]] == [
        (D("0.00"), D("0.00"), "OVERDUE"), (D("778.30"), D("138.50"), "PAID")]
    loan = Loan.objects.get(loan_no="R3")
    assert (loan.penalty_outstanding, loan.compound_outstanding) == (
        hu(D("766.80") * PEN * 31), hu(D("150.00") * PEN * 31)) == (D("17.83"), D("3.49"))


def test_a_claim_payment_since_is_replayed_and_the_claim_paid_moves(golden):
    # Program CL: claim raised 02-18 (7,000.00 + 105.00). T1 919.56 on 02-19 pays instalment
    # 1 (the bank's 536.76 of principal and 105.00 of interest); the guarantor's G1 7,105.00
    # on 02-20 then buys what the bank's share still holds, 6,463.24, and 641.76 is excess
    # owed back to it. T1 reversed on 03-18: rebuilt without it, G1 buys the whole claim,
    # 7,105.00, and the claim's paid amount moves by the 641.76 it pays more as replayed.
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C3")])
    for day in (16, 17, 18):
        settle(date(2026, 2, day))
    settle(date(2026, 2, 19), repayments=[pay_row("T1", "C3", "2026-02-19", "919.56")])
    settle(date(2026, 2, 20), repayments=[pay_row("G1", "C3", "2026-02-20", "7105.00",
                                                  payer="GUARANTOR")])
    claim = Claim.objects.get(loan__loan_no="C3")
    assert (claim.status, claim.paid_amount) == ("PAID", D("6463.24"))
    settle(date(2026, 3, 16), repayments=[pay_row("T2", "C3", "2026-03-15", "916.80")])
    settle(REV, reversals=[("V1", "T1", REV, "919.56", "bounced")])

    claim.refresh_from_db()
    assert (claim.status, claim.paid_amount, claim.raised_on) == (
        "PAID", D("7105.00"), date(2026, 2, 18))
    assert sum(r.amount for r in Movement.objects.filter(
        loan__loan_no="C3", event="CLAIM")) == D("7105.00")
    assert Loan.objects.get(loan_no="C3").state == "CLAIMED"
    # The day's money: T1's 919.56 back; G1's 7,105.00 is now all the claim's, none excess.
    cash = ("COLLECT", "RECOVERY", "CLAIM", "CLAIM_EXCESS")
    day = movements("C3", REV)
    assert sum(a for (_f, e, _c), a in day.items() if e in cash) == D("-919.56")
    assert (day[("BANK", "CLAIM", "PRINCIPAL")], day[("BANK", "CLAIM", "INTEREST")],
            day[("BANK", "CLAIM_EXCESS", "OVERPAYMENT")]) == (
        D("536.76"), D("105.00"), D("-641.76"))
    assert sum(r.amount for r in Movement.objects.filter(
        loan__loan_no="C3", event="CLAIM_EXCESS")) == 0


def test_reversing_a_payment_of_before_the_claim_moves_the_claim_to_its_day(golden):
    # Program CL: T1 paid instalment 1 on its due date; instalment 2 (03-15) unpaid raises the
    # claim on 03-18 (DPD 3): the bank's 6,463.24 + 96.95. T1 reversed on 03-19: without it the
    # claim was raised on 02-18, the bank's 7,000.00 + 105.00; the claim's row takes them.
    program_in(golden, "CL", "claims", claim_trigger_dpd=3)
    settle(date(2026, 1, 15), loans=[loan_row_in("CL", "C4")])
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "C4", "2026-02-15", "916.80")])
    for day in (date(2026, 2, 17), date(2026, 2, 18), date(2026, 3, 16), date(2026, 3, 17),
                date(2026, 3, 18)):
        settle(day)
    claim = Claim.objects.get(loan__loan_no="C4")
    assert (claim.raised_on, claim.principal, claim.interest) == (
        date(2026, 3, 18), D("6463.24"), D("96.95"))
    rev = date(2026, 3, 19)
    settle(rev, reversals=[("V1", "T1", rev, "916.80", "chargeback")])
    claim.refresh_from_db()
    assert (claim.raised_on, claim.principal, claim.interest, claim.amount, claim.status) == (
        date(2026, 2, 18), D("7000.00"), D("105.00"), D("7105.00"), "RAISED")
    assert Claim.objects.filter(loan__loan_no="C4").count() == 1
    assert Loan.objects.get(loan_no="C4").claim_raised_on == date(2026, 2, 18)


def test_a_period_restored_twice_is_crystallised_anew_in_one_piece(golden):
    # P1 PREPAYMENT 1,000.00 on 01-16, reversed 01-19; P2 PREPAYMENT 1,000.00 on 01-26,
    # reversed 01-28. Nothing then stands paid in period 1 (150.00 over 31 days): as if never
    # touched, its interest to 01-28 is crystallised in one piece, 150.00 × 13/31 = 62.90,
    # bank HALF_UP(62.90 × 0.7) = 44.03 (§8.3, §8.6). In two pieces (19.35 to 01-19, then
    # 43.55) the bank had 13.55 + 30.49 = 44.04.
    settle(date(2026, 1, 15), loans=[loan_row("P1")])
    settle(date(2026, 1, 16), repayments=[pay_row("T1", "P1", "2026-01-16", "1000.00",
                                                  kind="PREPAYMENT")])
    settle(date(2026, 1, 19), reversals=[("V1", "T1", date(2026, 1, 19), "1000.00", "")])
    settle(date(2026, 1, 26), repayments=[pay_row("T2", "P1", "2026-01-26", "1000.00",
                                                  kind="PREPAYMENT")])
    settle(date(2026, 1, 28), reversals=[("V2", "T2", date(2026, 1, 28), "1000.00", "")])
    whole = hu(D("150.00") * 13 / 31)
    assert whole == D("62.90")
    assert {f: s[1] for f, s in shares("P1").items()} == {
        "BANK": hu(whole * D("0.7")), "ALPHA": whole - hu(whole * D("0.7"))} == {
        "BANK": D("44.03"), "ALPHA": D("18.87")}
