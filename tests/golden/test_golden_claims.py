"""Golden days of a guarantor claim (代偿, DOMAIN §3.6 and §7.1).

The 10,000.00 / 18 % / 12-month loan (bank 70 %, ALPHA 30 %, GUARD guarantees the bank's
share, claim at DPD 80, scope principal + interest). The borrower pays periods 1–2 and stops;
period 3 (due 04-15) reaches DPD 80 on 07-04: periods 3–5 are due. Bank principal 5,918.43;
bank interest of periods 3–5 billed by 70 % weights: HALF_UP(126.82 × 0.7) = 88.77,
HALF_UP(114.97 × 0.7) = 80.48, HALF_UP(102.95 × 0.7) = 72.07 → 241.32 (= 70 % of 344.74);
claim = 6,159.75, penalty excluded.

Penalty (27 %/yr, /360 → 0.075 % a day) is crystallised at each billing, at the claim (07-04)
and at the guarantor's payment (§8.6), HALF_UP per segment, and each segment is split 70/30 by
penalty weights (ALPHA residual):
  04-15→05-15 30 d on principal 789.98 / interest 126.82:   17.77 / 2.85  (bank 12.44 / 2.00)
  05-15→06-15 31 d on 1,591.81 / 241.79:                    37.01 / 5.62  (bank 25.91 / 3.93)
  06-15→07-04 19 d on 2,405.66 / 344.74:                    34.28 / 4.91  (bank 24.00 / 3.44)
  07-04→07-06  2 d on 2,405.66 / 344.74:                     3.61 / 0.52  (bank  2.53 / 0.36)
so on 07-06 the penalty is 92.67 (bank 64.88, ALPHA 27.79) and compound 13.90 (9.73 / 4.17).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Claim, Installment, Loan
from tests.golden.helpers import (
    gl,
    loan_row,
    movements,
    pay_row,
    settle,
    shares,
    statement,
)

pytestmark = pytest.mark.django_db

TRIGGER, PAID = date(2026, 7, 4), date(2026, 7, 6)
CLAIM = D("6159.75")


def claim_record() -> tuple:
    """L1's claim as (status, paid amount, paid day)."""
    claim = Claim.objects.get(loan__loan_no="L1")
    return claim.status, claim.paid_amount, claim.paid_on


def to_claim():
    settle(date(2026, 1, 15), loans=[loan_row("L1")])
    settle(date(2026, 2, 15), repayments=[pay_row("T1", "L1", date(2026, 2, 15), "916.80")])
    settle(date(2026, 3, 15), repayments=[pay_row("T2", "L1", date(2026, 3, 15), "916.80")])
    for d in (date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15)):
        settle(d)
    settle(TRIGGER)
    claim = Claim.objects.get(loan__loan_no="L1")
    assert (claim.status, claim.raised_on) == ("RAISED", TRIGGER)
    assert (claim.principal, claim.interest, claim.penalty, claim.amount) == (
        D("5918.43"), D("241.32"), 0, CLAIM)
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.state) == (80, "OVERDUE")


def test_claim_paid_by_the_guarantor_then_a_borrower_recovery(golden):
    to_claim()
    settle(PAID, repayments=[pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR")])
    m = movements("L1", PAID)
    # The guarantor buys the bank's share: interest 241.32, principal 5,918.43; the bank's
    # penalty (64.88) and compound (9.73), outside the claim scope, go to GUARD without cash.
    assert m[("BANK", "CLAIM", "INTEREST")] == D("241.32")
    assert m[("BANK", "CLAIM", "PRINCIPAL")] == D("5918.43")
    assert m[("GUARD", "CLAIM_IN", "PRINCIPAL")] == D("5918.43")
    assert m[("BANK", "TRANSFER_OUT", "PENALTY")] == D("64.88")
    assert m[("GUARD", "TRANSFER_IN", "COMPOUND")] == D("9.73")
    assert shares("L1") == {
        "BANK": (0, 0, 0),
        "GUARD": (D("5918.43"), D("241.32"), D("74.61")),  # 64.88 + 9.73
        "ALPHA": (D("2536.47"), D("103.42"), D("31.96")),  # 344.74 − 241.32; 27.79 + 4.17
    }
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.claimed_on) == ("CLAIMED", PAID)
    assert claim_record() == ("PAID", CLAIM, PAID)
    # The guarantor's statement: it owes the bank the claim.
    assert statement("GUARD", PAID) == (CLAIM, {"CLAIM_PAYMENT": CLAIM})
    # Bank book: Dr due from guarantor 6,159.75 / Cr loans 5,918.43, Cr interest rec. 241.32;
    # the bank's share is closed: nothing receivable any more, its accrued penalty reversed.
    assert gl(chart.DUE_FROM_GUARANTOR, PAID) == CLAIM
    assert gl(chart.LOANS_RECEIVABLE, PAID) == 0
    assert gl(chart.INTEREST_RECEIVABLE, PAID) == 0
    assert gl(chart.PENALTY_RECEIVABLE, PAID) == 0
    assert gl(chart.PENALTY_INCOME, PAID) == 0
    assert gl(chart.INTEREST_INCOME, PAID) == D("443.27")  # 105.00 + 96.95 + 241.32
    # GUARD's memo book holds the bought share.
    assert gl(chart.LOANS_RECEIVABLE, PAID, book="MEMO_GUARD") == D("5918.43")

    # 07-15 bills period 6 (90.74: GUARD 63.52 by the weights it took over, ALPHA 27.22).
    settle(date(2026, 7, 15))
    rec = date(2026, 7, 20)
    settle(rec, repayments=[pay_row("B1", "L1", rec, "500.00")])
    # Penalty after 07-06 (GUARD's weights 70 %): 07-06→07-15 9 d on 2,405.66 / 344.74:
    # 16.24 / 2.33 (GUARD 11.37 / 1.63); 07-15→07-20 5 d on 3,231.72 / 435.48: 12.12 / 1.63
    # (GUARD 8.48 / 1.14). Totals: penalty 92.67 + 16.24 + 12.12 = 121.03, GUARD
    # 64.88 + 11.37 + 8.48 = 84.73, ALPHA 36.30; compound 13.90 + 2.33 + 1.63 = 17.86,
    # GUARD 9.73 + 1.63 + 1.14 = 12.50, ALPHA 5.36.
    # 500.00 pays instalment 3 first, its penalty and compound with it (§8.2), then stops.
    # Instalment 3's part of each rounding (its own amount × days, HALF_UP; the latest
    # instalment takes what rounding leaves): penalty on 789.98 for 30 / 31 / 19 / 2 / 9 / 5 d
    # = 17.77 + 18.37 + 11.26 + 1.18 + 5.33 + 2.96 = 56.87; compound on 126.82 = 2.85 + 2.95 +
    # 1.81 + 0.19 + 0.86 + 0.48 = 9.14. Split by balances: HALF_UP(56.87 × 84.73 / 121.03)
    # = 39.81 / 17.06; HALF_UP(9.14 × 12.50 / 17.86) = 6.40 / 2.74. Interest 126.82 by
    # interest balances GUARD 304.84 (241.32 + 63.52) / ALPHA 130.64: 88.78 / 38.04.
    # Principal 500 − 56.87 − 9.14 − 126.82 = 307.17 by 5,918.43 / 2,536.47: 215.02 / 92.15.
    # (Paying all the loan's penalty first, 121.03 + 17.86, left 234.29 for principal.)
    m = movements("L1", rec)
    assert m == {
        ("GUARD", "RECOVERY", "PENALTY"): D("39.81"), ("ALPHA", "COLLECT", "PENALTY"): D("17.06"),
        ("GUARD", "RECOVERY", "COMPOUND"): D("6.40"), ("ALPHA", "COLLECT", "COMPOUND"): D("2.74"),
        ("GUARD", "RECOVERY", "INTEREST"): D("88.78"), ("ALPHA", "COLLECT", "INTEREST"): D("38.04"),
        ("GUARD", "RECOVERY", "PRINCIPAL"): D("215.02"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("92.15"),
    }
    # What instalments 4–6 owe of the loan's penalty stays with them. Instalment 4 (801.83):
    # the rest of 05-15→06-15 (37.01 − 18.37 = 18.64), then its own 11.43 + 1.20 + 5.41 + 3.01.
    assert shares("L1")["GUARD"][2] == D("84.73") + D("12.50") - D("39.81") - D("6.40")
    inst = {i.seq: (i.penalty_unpaid, i.penalty_paid, i.compound_paid)
            for i in Installment.objects.filter(loan__loan_no="L1", seq__in=(3, 4))}
    assert inst == {3: (0, D("56.87"), D("9.14")), 4: (D("39.69"), 0, 0)}
    # GUARD's part (350.01) is routed to the guarantor: ALPHA pays it in, the bank owes it on.
    assert statement("ALPHA", rec) == (D("350.01"), {"CLAIM_RECOVERY": D("350.01")})
    assert statement("GUARD", rec) == (D("-350.01"), {"RECOVERY_TO_GUARANTOR": D("-350.01")})
    assert gl(chart.CLAIM_PAYABLE_TO_GUARANTOR, rec) == D("350.01")
    assert gl(chart.INTEREST_INCOME, rec) == D("443.27")  # no bank income from a recovery
    assert gl(chart.PENALTY_INCOME, rec) == 0


def test_borrower_payment_after_the_claim_on_the_same_day(golden):
    to_claim()
    settle(PAID, repayments=[pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR"),
                             pay_row("B1", "L1", PAID, "300.00")])
    # File order: the claim first, so the borrower's 300.00 is a recovery on GUARD's share.
    # It pays instalment 3, its penalty with it (§8.2): instalment 3's part of each rounding
    # on 789.98 / 126.82 (30 / 31 / 19 / 2 d) is 17.77 + 18.37 + 11.26 + 1.18 = 48.58 and
    # 2.85 + 2.95 + 1.81 + 0.19 = 7.80, split by balances 64.88 / 27.79 and 9.73 / 4.17:
    # HALF_UP(48.58 × 64.88 / 92.67) = 34.01 / 14.57, HALF_UP(7.80 × 9.73 / 13.90) = 5.46 /
    # 2.34; interest 126.82 by 241.32 / 103.42: 88.77 / 38.05; principal 300 − 48.58 − 7.80 −
    # 126.82 = 116.80 by 5,918.43 / 2,536.47: 81.76 / 35.04. GUARD's part: 210.00.
    m = movements("L1", PAID)
    assert m[("BANK", "CLAIM", "PRINCIPAL")] + m[("BANK", "CLAIM", "INTEREST")] == CLAIM
    assert {k: v for k, v in m.items() if k[1] in ("RECOVERY", "COLLECT")} == {
        ("GUARD", "RECOVERY", "PENALTY"): D("34.01"), ("ALPHA", "COLLECT", "PENALTY"): D("14.57"),
        ("GUARD", "RECOVERY", "COMPOUND"): D("5.46"), ("ALPHA", "COLLECT", "COMPOUND"): D("2.34"),
        ("GUARD", "RECOVERY", "INTEREST"): D("88.77"), ("ALPHA", "COLLECT", "INTEREST"): D("38.05"),
        ("GUARD", "RECOVERY", "PRINCIPAL"): D("81.76"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("35.04"),
    }
    assert statement("GUARD", PAID) == (D("5949.75"), {  # 6,159.75 − 210.00
        "CLAIM_PAYMENT": CLAIM, "RECOVERY_TO_GUARANTOR": D("-210.00")})
    assert statement("ALPHA", PAID) == (D("210.00"), {"CLAIM_RECOVERY": D("210.00")})
    assert gl(chart.INTEREST_INCOME, PAID) == D("443.27")
    assert shares("L1")["BANK"] == (0, 0, 0)
    assert claim_record() == ("PAID", CLAIM, PAID)


def test_borrower_payment_before_the_claim_on_the_same_day(golden):
    to_claim()
    settle(PAID, repayments=[pay_row("B1", "L1", PAID, "300.00"),
                             pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR")])
    # The borrower first: the same 300.00 split, but the bank's part (34.01 + 5.46 + 88.77 +
    # 81.76 = 210.00) is the bank's own collection. The claim then buys what is left of the
    # bank's share: interest 241.32 − 88.77 = 152.55 and principal 5,918.43 − 81.76 = 5,836.67
    # → 5,989.22; the excess 170.53 is the guarantor's money, owed back to it (not the
    # borrower's suspense).
    m = movements("L1", PAID)
    assert m[("BANK", "COLLECT", "PENALTY")] == D("34.01")
    assert m[("BANK", "COLLECT", "COMPOUND")] == D("5.46")
    assert m[("BANK", "COLLECT", "INTEREST")] == D("88.77")
    assert m[("BANK", "COLLECT", "PRINCIPAL")] == D("81.76")
    assert m[("BANK", "CLAIM", "INTEREST")] == D("152.55")
    assert m[("BANK", "CLAIM", "PRINCIPAL")] == D("5836.67")
    assert m[("BANK", "CLAIM_EXCESS", "OVERPAYMENT")] == D("170.53")
    assert ("BANK", "OVERPAY", "OVERPAYMENT") not in m
    assert statement("ALPHA", PAID) == (D("210.00"), {
        "COLLECTION_PENALTY": D("39.47"), "COLLECTION_INTEREST": D("88.77"),
        "COLLECTION_PRINCIPAL": D("81.76")})
    assert statement("GUARD", PAID) == (D("5989.22"), {
        "CLAIM_PAYMENT": D("5989.22"), "CLAIM_EXCESS_RECEIVED": D("170.53"),
        "CLAIM_EXCESS_REFUND": D("-170.53")})
    assert Loan.objects.get(loan_no="L1").overpaid_amount == 0
    assert gl(chart.OVERPAYMENT_SUSPENSE, PAID) == 0
    assert gl(chart.CLAIM_PAYABLE_TO_GUARANTOR, PAID) == D("170.53")
    # No double recovery: the bank received 210.00 + 5,989.22 = 6,199.22 for its share
    # (5,918.43 principal + 241.32 interest + 39.47 penalty: instalment 3's; the rest of its
    # penalty goes to the guarantor with the share, without cash).
    assert gl(chart.INTEREST_INCOME, PAID) == D("443.27")
    assert gl(chart.PENALTY_INCOME, PAID) == D("39.47")
    assert gl(chart.LOANS_RECEIVABLE, PAID) == 0
    assert shares("L1")["BANK"] == (0, 0, 0)
    assert Loan.objects.get(loan_no="L1").state == "CLAIMED"
    # The claim record holds what the guarantor's money bought, not the cash it sent (the
    # excess is refunded).
    assert claim_record() == ("PAID", D("5989.22"), PAID)


def test_reversal_of_the_guarantors_payment_reopens_the_claim(golden):
    to_claim()
    settle(PAID, repayments=[pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR")])
    rev = date(2026, 7, 7)
    settle(rev, reversals=[("R1", "G1", rev, str(CLAIM), "guarantor payment returned")])
    # The claim movements are undone with their original amounts: the bank holds its share
    # again and the guarantor's bought share is gone.
    m = movements("L1", rev)
    assert m[("BANK", "CLAIM", "PRINCIPAL")] == D("-5918.43")
    assert m[("BANK", "CLAIM", "INTEREST")] == D("-241.32")
    assert shares("L1")["BANK"][:2] == (D("5918.43"), D("241.32"))
    # The claim is open again, with nothing paid on it.
    assert claim_record() == ("RAISED", 0, None)
    assert gl(chart.DUE_FROM_GUARANTOR, rev) == 0


def test_suspense_after_the_claim_goes_to_the_guarantor_when_applied(golden):
    to_claim()
    settle(PAID, repayments=[pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR")])
    settle(date(2026, 7, 15))  # bills period 6
    rec = date(2026, 7, 20)
    settle(rec, repayments=[pay_row("B1", "L1", rec, "5000.00")])
    # 5,000.00 pays everything billed: penalty 121.03 and compound 17.86 (as in the first
    # test), interest of periods 3–6 435.48 (GUARD 304.84 / ALPHA 130.64) and their principal
    # 789.98 + 801.83 + 813.85 + 826.06 = 3,231.72 (GUARD 2,262.20 / ALPHA 969.52): 3,806.09.
    # The other 1,193.91 is the borrower's money in suspense, held at the bank.
    m = movements("L1", rec)
    assert m[("GUARD", "RECOVERY", "PRINCIPAL")] == D("2262.20")
    assert m[("ALPHA", "COLLECT", "PRINCIPAL")] == D("969.52")
    assert m[("BANK", "OVERPAY", "OVERPAYMENT")] == D("1193.91")
    assert statement("ALPHA", rec) == (D("3858.18"), {  # 2,664.27 for GUARD + the suspense
        "CLAIM_RECOVERY": D("2664.27"), "OVERPAYMENT": D("1193.91")})
    assert Loan.objects.get(loan_no="L1").overpaid_amount == D("1193.91")
    # 08-15 bills period 7 (838.45 + 78.35 = 916.80), paid from the suspense and split by the
    # shares after the claim (70/30): interest HALF_UP(78.35 × 0.7) = 54.85 / 23.50,
    # principal HALF_UP(838.45 × 0.7) = 586.92 / 251.53. GUARD's part is a recovery owed on
    # to the guarantor, ALPHA's is paid back to the platform.
    due = date(2026, 8, 15)
    settle(due)
    assert movements("L1", due) == {
        ("GUARD", "SUSP_RECOVERY", "INTEREST"): D("54.85"),
        ("GUARD", "SUSP_RECOVERY", "PRINCIPAL"): D("586.92"),
        ("ALPHA", "SUSPENSE_APPLY", "INTEREST"): D("23.50"),
        ("ALPHA", "SUSPENSE_APPLY", "PRINCIPAL"): D("251.53"),
    }
    assert statement("GUARD", due) == (D("-641.77"), {"RECOVERY_TO_GUARANTOR": D("-641.77")})
    assert statement("ALPHA", due) == (D("-275.03"), {"SUSPENSE_TO_PARTNER": D("-275.03")})
    assert Loan.objects.get(loan_no="L1").overpaid_amount == D("277.11")  # 1,193.91 − 916.80
    assert gl(chart.OVERPAYMENT_SUSPENSE, due) == D("277.11")
