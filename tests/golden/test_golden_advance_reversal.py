"""Reversing a payment whose advance has since paid an instalment (DOMAIN §8.3 with §8.8).

Found in this session by a probe of the oracle's REPLAY class: the reversal took back the
advance from suspense although suspense had already paid it into the instalment due since,
leaving suspense at −500.00 and the instalment paid by money that never came (every check of
the books still passed). Now the reversal also takes back what the advance paid — the tail
of the waterfall, latest first — and penalty on it runs from the due date (§8.3).

The golden loan: 10,000.00 / 18 % / 12 months, EQUAL_INSTALLMENT, disbursed 01-15, first due
Sunday 02-15: instalment 1 = 766.80 principal + 150.00 interest. Program CASH: ACT/360,
penalty multiplier 1.5 (27 % a year), no grace. Bank 70 % / ALPHA 30 % (ALPHA the residual).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Loan
from tests.golden.helpers import gl, hu, installments, loan_row, movements, pay_row, settle

pytestmark = pytest.mark.django_db

ADV, AFTER, REV = date(2026, 2, 10), date(2026, 2, 16), date(2026, 2, 18)
PEN = D("0.27") / 360  # the penalty rate a day, ACT/360


def _penalty(loan_no: str) -> D:
    loan = Loan.objects.get(loan_no=loan_no)
    return sum((s.penalty_outstanding + s.compound_outstanding for s in loan.shares.all()),
               D("0"))


def test_reversing_an_advance_that_paid_an_instalment_takes_that_payment_back(golden):
    settle(date(2026, 1, 15), loans=[loan_row("A1")])
    settle(ADV, repayments=[pay_row("T1", "A1", ADV, "500.00")])  # nothing due: an advance
    settle(AFTER)  # the advance paid instalment 1 on its due date: 150.00 interest, 350.00
    inst = installments("A1")[0]
    assert (inst[4], inst[5], inst[6]) == (D("350.00"), D("150.00"), "OVERDUE")
    assert Loan.objects.get(loan_no="A1").overpaid_amount == 0

    settle(REV, reversals=[("V1", "T1", REV, "500.00", "bounced")])
    loan = Loan.objects.get(loan_no="A1")
    assert loan.overpaid_amount == 0  # was −500.00
    inst = installments("A1")[0]
    assert (inst[4], inst[5], inst[6]) == (D("0.00"), D("0.00"), "OVERDUE")  # unpaid again
    assert loan.principal_outstanding == D("10000.00")
    m = movements("A1", REV)
    assert m[("BANK", "OVERPAY", "OVERPAYMENT")] == D("-500.00")
    assert m[("BANK", "SUSPENSE_APPLY", "PRINCIPAL")] == D("-245.00")  # as applied, 70 / 30
    assert m[("ALPHA", "SUSPENSE_APPLY", "PRINCIPAL")] == D("-105.00")
    assert m[("BANK", "SUSPENSE_APPLY", "INTEREST")] + m[
        ("ALPHA", "SUSPENSE_APPLY", "INTEREST")] == D("-150.00")
    # penalty on the whole 766.80 and compound on the 150.00 from the due date, 3 days
    assert _penalty("A1") == hu(D("766.80") * PEN * 3) + hu(D("150.00") * PEN * 3) == D("2.07")
    assert gl(chart.OVERPAYMENT_SUSPENSE, REV) == 0


def test_reversing_one_of_two_advances_takes_back_only_the_tail_it_paid(golden):
    settle(date(2026, 1, 15), loans=[loan_row("A2")])
    settle(ADV, repayments=[pay_row("T1", "A2", ADV, "300.00"),
                            pay_row("T2", "A2", ADV, "400.00")])
    settle(AFTER)  # 700.00 paid instalment 1: 150.00 interest, 550.00 principal
    assert installments("A2")[0][4:6] == (D("550.00"), D("150.00"))

    settle(REV, reversals=[("V2", "T2", REV, "400.00", "bounced")])
    loan = Loan.objects.get(loan_no="A2")
    assert loan.overpaid_amount == 0
    # As if only T1's 300.00 had come: 150.00 interest then 150.00 principal.
    assert installments("A2")[0][4:7] == (D("150.00"), D("150.00"), "OVERDUE")
    m = movements("A2", REV)  # (the loan rebuilt without T2: T1's application is recorded
    # again, after the day's movements since T2 are negated; only the net counts)
    assert not any(a for (_f, _e, c), a in m.items() if c == "INTEREST")
    assert m[("BANK", "SUSPENSE_APPLY", "PRINCIPAL")] + m[
        ("ALPHA", "SUSPENSE_APPLY", "PRINCIPAL")] == D("-400.00")
    # penalty: 216.80 unpaid since the due date, and the 400.00 unpaid again since then
    assert _penalty("A2") == hu(D("616.80") * PEN * 3) == D("1.39")
    assert gl(chart.OVERPAYMENT_SUSPENSE, REV) == 0

    # Reversing T1 too leaves the instalment wholly unpaid and suspense at zero.
    settle(date(2026, 2, 19), reversals=[("V1", "T1", date(2026, 2, 19), "300.00", "bounced")])
    loan = Loan.objects.get(loan_no="A2")
    assert loan.overpaid_amount == 0
    assert installments("A2")[0][4:6] == (D("0.00"), D("0.00"))
    assert gl(chart.OVERPAYMENT_SUSPENSE, date(2026, 2, 19)) == 0


def test_the_same_when_the_advance_is_applied_in_the_reversal_s_own_run(golden):
    # The due date (Sunday 02-15) and the reversal fall in Monday's run: the advance pays the
    # instalment on its due date within the run, then the reversal takes it back.
    settle(date(2026, 1, 15), loans=[loan_row("A3")])
    settle(ADV, repayments=[pay_row("T1", "A3", ADV, "500.00")])
    settle(AFTER, reversals=[("V1", "T1", AFTER, "500.00", "bounced")])
    loan = Loan.objects.get(loan_no="A3")
    assert loan.overpaid_amount == 0
    assert installments("A3")[0][4:7] == (D("0.00"), D("0.00"), "OVERDUE")
    m = movements("A3", AFTER)
    for funder in ("BANK", "ALPHA"):  # applied and taken back within the day
        for comp in ("PRINCIPAL", "INTEREST"):
            assert m.get((funder, "SUSPENSE_APPLY", comp), 0) == 0
    # one day's penalty on 766.80 and compound on 150.00, rounded once (§8.3, §8.6): the
    # base as it stood (416.80) and what the reversal unpaid (350.00) are crystallised
    # together (apart they made 0.31 + 0.26, a cent under)
    assert _penalty("A3") == hu(D("766.80") * PEN) + hu(D("150.00") * PEN) == D("0.69")
    assert gl(chart.OVERPAYMENT_SUSPENSE, AFTER) == 0


def test_reversing_an_advance_refunded_at_a_later_payoff_takes_back_the_refund(golden):
    # 500.00 advance on 01-20; a PAYOFF on 01-22 closes the loan and refunds the advance (§8.8,
    # REFUND 500.00); the advance bounces, reversed 01-23: the refund is taken back (the
    # borrower was refunded money that never came), suspense stays at zero, the loan paid off.
    settle(date(2026, 1, 15), loans=[loan_row("A4")])
    adv, off, rev = date(2026, 1, 20), date(2026, 1, 22), date(2026, 1, 23)
    settle(adv, repayments=[pay_row("T1", "A4", adv, "500.00")])
    settle(off, repayments=[pay_row("P1", "A4", off, "10033.87", kind="PAYOFF")])
    assert movements("A4", off)[("BANK", "REFUND", "OVERPAYMENT")] == D("500.00")
    settle(rev, reversals=[("V1", "T1", rev, "500.00", "bounced")])
    loan = Loan.objects.get(loan_no="A4")
    assert (loan.state, loan.overpaid_amount, loan.principal_outstanding) == (
        "PAID_OFF", 0, 0)
    m = movements("A4", rev)
    assert m[("BANK", "OVERPAY", "OVERPAYMENT")] == D("-500.00")
    assert m[("BANK", "REFUND", "OVERPAYMENT")] == D("-500.00")
    assert gl(chart.OVERPAYMENT_SUSPENSE, rev) == 0
