"""Golden days of borrower payments: on time, early, partial, overdue, prepayment, payoff,
overpayment. Loan: 10,000.00 at 18 %, 12 equal instalments of 916.80 (DOMAIN §3.1), disbursed
2026-01-15, bank 70 % / ALPHA 30 % (ALPHA is the residual owner).

Schedule (1.5 % a month): 1: 766.80 + 150.00 (02-15), 2: 778.30 + 138.50 (03-15),
3: 789.98 + 126.82 (04-15), 4: 801.83 + 114.97 (05-15), …
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
    journal,
    loan_row,
    movements,
    pay_row,
    positions,
    settle,
    shares,
    statement,
)

pytestmark = pytest.mark.django_db

D0, D1, D2 = date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)
BANK_P, PLAT_P = D("7000.00"), D("3000.00")


def test_on_time_instalment_posts_collections_and_accrual(golden):
    settle(D0, loans=[loan_row("L1")])
    # Disbursement: Dr loans receivable 7,000.00 / Cr due to platform 7,000.00 (bank book);
    # the memo book shows ALPHA's 3,000.00 against partner funding.
    assert journal(D0) == {("DISBURSE", chart.LOANS_RECEIVABLE): (BANK_P, 0),
                           ("DISBURSE", chart.DUE_TO_PLATFORM): (0, BANK_P)}
    assert journal(D0, "MEMO_ALPHA") == {
        ("DISBURSE", chart.LOANS_RECEIVABLE): (PLAT_P, 0),
        ("DISBURSE", chart.PARTNER_FUNDING): (0, PLAT_P)}

    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    # 916.80 = 150.00 interest + 766.80 principal; 70/30: interest 105.00 / 45.00, principal
    # HALF_UP(766.80 × 0.7) = 536.76 / 230.04.
    assert movements("L1", D1) == {
        ("BANK", "COLLECT", "INTEREST"): D("105.00"), ("ALPHA", "COLLECT", "INTEREST"): D("45.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("536.76"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("230.04")}
    # Bank book: Dr due from platform 641.76 / Cr loans 536.76, Cr interest receivable 105.00;
    # the interest receivable was accrued by the derived delta: Dr 1132 / Cr 6011 105.00 over
    # the period (the first period's accrual is posted on D1 itself, as nothing ran between).
    j = journal(D1)
    assert j[("COLLECT", chart.DUE_FROM_PLATFORM)] == (D("641.76"), 0)
    assert j[("COLLECT", chart.LOANS_RECEIVABLE)] == (0, D("536.76"))
    assert j[("COLLECT", chart.INTEREST_RECEIVABLE)] == (0, D("105.00"))
    assert gl(chart.INTEREST_INCOME, D1) == D("105.00")
    assert gl(chart.INTEREST_INCOME, D1, book="MEMO_ALPHA") == D("45.00")
    assert gl(chart.INTEREST_RECEIVABLE, D1) == 0
    assert gl(chart.LOANS_RECEIVABLE, D1) == D("6463.24")  # 7,000.00 − 536.76
    assert gl(chart.DUE_FROM_PLATFORM, D1) == D("641.76")
    assert statement("ALPHA", D1) == (D("641.76"), {"COLLECTION_PRINCIPAL": D("536.76"),
                                                     "COLLECTION_INTEREST": D("105.00")})
    assert shares("L1") == {"BANK": (D("6463.24"), 0, 0), "ALPHA": (D("2769.96"), 0, 0)}
    assert installments("L1")[0][-1] == "PAID"
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.dpd, loan.principal_outstanding) == ("ACTIVE", 0, D("9233.20"))


def test_early_scheduled_payment_waits_in_suspense_until_the_due_date(golden):
    settle(D0, loans=[loan_row("L1")])
    early = date(2026, 2, 10)
    settle(early, repayments=[pay_row("T1", "L1", early, "916.80")])
    # Nothing has fallen due: the whole 916.80 is held in suspense (the bank holds the cash).
    assert movements("L1", early) == {("BANK", "OVERPAY", "OVERPAYMENT"): D("916.80")}
    assert statement("ALPHA", early) == (D("916.80"), {"OVERPAYMENT": D("916.80")})
    assert gl(chart.OVERPAYMENT_SUSPENSE, early) == D("916.80")
    assert Loan.objects.get(loan_no="L1").overpaid_amount == D("916.80")
    assert shares("L1")["BANK"][0] == BANK_P
    # The interest receivable is accrued meanwhile: HALF_UP(150.00 × 26/31) = 125.81,
    # bank HALF_UP(125.81 × 0.7) = 88.07.
    assert gl(chart.INTEREST_RECEIVABLE, early) == D("88.07")

    settle(D1)  # no file rows: the suspense pays instalment 1 when it falls due
    assert movements("L1", D1) == {
        ("BANK", "SUSPENSE_APPLY", "INTEREST"): D("105.00"),
        ("ALPHA", "SUSPENSE_APPLY", "INTEREST"): D("45.00"),
        ("BANK", "SUSPENSE_APPLY", "PRINCIPAL"): D("536.76"),
        ("ALPHA", "SUSPENSE_APPLY", "PRINCIPAL"): D("230.04")}
    # The bank's part clears its receivables from suspense; ALPHA's part (45.00 + 230.04) is
    # now owed to ALPHA: Dr suspense / Cr due to platform 275.04.
    j = journal(D1)
    assert j[("SUSPENSE_APPLY", chart.OVERPAYMENT_SUSPENSE)] == (D("916.80"), 0)
    assert j[("SUSPENSE_APPLY", chart.DUE_TO_PLATFORM)] == (0, D("275.04"))
    assert statement("ALPHA", D1) == (D("-275.04"), {"SUSPENSE_TO_PARTNER": D("-275.04")})
    assert gl(chart.OVERPAYMENT_SUSPENSE, D1) == 0
    assert gl(chart.INTEREST_INCOME, D1) == D("105.00")
    assert gl(chart.INTEREST_RECEIVABLE, D1) == 0
    assert shares("L1") == {"BANK": (D("6463.24"), 0, 0), "ALPHA": (D("2769.96"), 0, 0)}
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.overpaid_amount, loan.state, loan.dpd) == (0, "ACTIVE", 0)
    assert installments("L1")[0][-2:] == (D("150.00"), "PAID")


def test_partial_payment_then_the_rest_with_penalty(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "400.00")])
    # 400.00 = interest 150.00 (105.00 / 45.00) + principal 250.00 (175.00 / 75.00).
    assert movements("L1", D1) == {
        ("BANK", "COLLECT", "INTEREST"): D("105.00"), ("ALPHA", "COLLECT", "INTEREST"): D("45.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("175.00"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("75.00")}
    assert installments("L1")[0][4:] == (D("250.00"), D("150.00"), "DUE")
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.state) == (0, "ACTIVE")  # the due date itself is not overdue

    d = date(2026, 2, 25)
    # Penalty on the unpaid 516.80 principal for 10 days at 18 % × 1.5 / 360:
    # 516.80 × 0.00075 × 10 = 3.876 → 3.88; bank HALF_UP(3.88 × 0.7) = 2.72, ALPHA 1.16.
    # No compound interest (interest is paid).
    settle(d, repayments=[pay_row("T2", "L1", d, "520.68")])  # 3.88 + 516.80
    assert movements("L1", d) == {
        ("BANK", "COLLECT", "PENALTY"): D("2.72"), ("ALPHA", "COLLECT", "PENALTY"): D("1.16"),
        # principal by current balances 6,825.00 / 2,925.00 (= 70/30): 361.76 / 155.04
        ("BANK", "COLLECT", "PRINCIPAL"): D("361.76"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("155.04")}
    assert statement("ALPHA", d) == (D("364.48"), {"COLLECTION_PENALTY": D("2.72"),
                                                    "COLLECTION_PRINCIPAL": D("361.76")})
    assert gl(chart.PENALTY_INCOME, d) == D("2.72")
    assert gl(chart.PENALTY_RECEIVABLE, d) == 0
    # Period 2 accrual, 10 of 28 days: HALF_UP(138.50 × 10/28) = 49.46 → bank 34.62.
    assert gl(chart.INTEREST_RECEIVABLE, d) == D("34.62")
    assert gl(chart.LOANS_RECEIVABLE, d) == D("6463.24")  # 7,000 − 175.00 − 361.76
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.state, loan.risk_class) == (0, "ACTIVE", "NORMAL")
    assert installments("L1")[0][-1] == "PAID"


def test_overdue_500_waterfall_postings_and_split(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    settle(D2, repayments=[pay_row("T2", "L1", D2, "916.80")])
    d3, late = date(2026, 4, 15), date(2026, 4, 25)
    settle(d3)
    # DOMAIN §3.4: penalty 789.98 × 0.00075 × 10 = 5.92, compound 126.82 × 0.00075 × 10 = 0.95;
    # 500.00 → 5.92 / 0.95 / 126.82 / 366.31; 70/30: principal 256.42 / 109.89, interest
    # 88.77 / 38.05, penalty 4.14 / 1.78, compound 0.67 / 0.28.
    assert positions("L1", late)["BANK"][2] == D("4.81")  # 4.14 + 0.67 accrued, derived
    settle(late, repayments=[pay_row("T3", "L1", late, "500.00")])
    assert movements("L1", late) == {
        ("BANK", "COLLECT", "PENALTY"): D("4.14"), ("ALPHA", "COLLECT", "PENALTY"): D("1.78"),
        ("BANK", "COLLECT", "COMPOUND"): D("0.67"), ("ALPHA", "COLLECT", "COMPOUND"): D("0.28"),
        ("BANK", "COLLECT", "INTEREST"): D("88.77"), ("ALPHA", "COLLECT", "INTEREST"): D("38.05"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("256.42"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("109.89")}
    j = journal(late)
    assert j[("COLLECT", chart.DUE_FROM_PLATFORM)] == (D("350.00"), 0)  # 4.81 + 88.77 + 256.42
    assert j[("COLLECT", chart.PENALTY_RECEIVABLE)] == (0, D("4.81"))
    assert gl(chart.PENALTY_INCOME, late) == D("4.81")
    assert gl(chart.PENALTY_INCOME, late, book="MEMO_ALPHA") == D("2.06")  # 1.78 + 0.28
    assert gl(chart.PENALTY_RECEIVABLE, late) == 0
    # Period 4 interest 114.97 accrues from 04-15: HALF_UP(114.97 × 10/30) = 38.32 → bank 26.82.
    assert gl(chart.INTEREST_RECEIVABLE, late) == D("26.82")
    assert gl(chart.LOANS_RECEIVABLE, late) == D("5662.01")  # 5,918.43 − 256.42
    # 423.67 principal of instalment 3 is still overdue: 10 DPD, penalty restarts from today.
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.state) == (10, "OVERDUE")
    assert installments("L1")[2][4:] == (D("366.31"), D("126.82"), "OVERDUE")
    # A day later: penalty 423.67 × 0.00075 = 0.3178 → 0.32 (bank 0.22), no compound.
    nxt = date(2026, 4, 26)
    settle(nxt)
    assert positions("L1", nxt)["BANK"][2] == D("0.22")
    assert gl(chart.PENALTY_RECEIVABLE, nxt) == D("0.22")


def test_partial_prepayment_reamortises_the_remaining_schedule(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    d = date(2026, 3, 1)
    settle(d, repayments=[pay_row("T2", "L1", d, "3000.00", kind="PREPAYMENT")])
    # Interest to date: 138.50 × 14/28 = 69.25 (bank HALF_UP(48.475) = 48.48, ALPHA 20.77);
    # prepaid principal 3,000.00 − 69.25 = 2,930.75, split by current principal
    # 6,463.24 / 2,769.96 (exactly 70/30): 2,051.53 / 879.22.
    assert movements("L1", d) == {
        ("BANK", "COLLECT", "INTEREST"): D("48.48"), ("ALPHA", "COLLECT", "INTEREST"): D("20.77"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("2051.53"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("879.22")}
    assert shares("L1") == {"BANK": (D("4411.71"), 0, 0), "ALPHA": (D("1890.74"), 0, 0)}
    # Re-amortised: 6,302.45 over the 11 remaining instalments at 1.5 %:
    # A = P·i·(1+i)^11 / ((1+i)^11 − 1) = 625.7945 → 625.79. Instalment 2 (current period):
    # interest 69.25 (paid) + the rest of the period on the new balance HALF_UP(94.54 × 14/28)
    # = 47.27 → 116.52; principal 2,930.75 (prepaid) + 625.79 − 94.54 = 531.25.
    # Then 539.22 + 86.57, 547.31 + 78.48, …, the last 616.60 + 9.25.
    insts = installments("L1")
    assert insts[1][2:6] == (D("3462.00"), D("116.52"), D("2930.75"), D("69.25"))
    assert insts[2][2:4] == (D("539.22"), D("86.57"))
    assert insts[3][2:4] == (D("547.31"), D("78.48"))
    assert insts[11][2:4] == (D("616.60"), D("9.25"))
    assert sum(i[2] for i in insts[1:]) == D("9233.20")  # the principal still amortises fully
    assert Loan.objects.get(loan_no="L1").principal_outstanding == D("6302.45")

    settle(D2, repayments=[pay_row("T3", "L1", D2, "578.52")])  # 531.25 + 47.27
    # The 47.27 is split by accrual weights 70/30 when it falls due: 33.09 / 14.18.
    m = movements("L1", D2)
    assert m[("BANK", "COLLECT", "INTEREST")] == D("33.09")
    assert m[("ALPHA", "COLLECT", "INTEREST")] == D("14.18")
    # 531.25 × 4,411.71 / 6,302.45 = 371.8747… → 371.87 (4,411.71 is a hair under 70 % of
    # 6,302.45 = 4,411.715), ALPHA 159.38.
    assert m[("BANK", "COLLECT", "PRINCIPAL")] == D("371.87")
    assert m[("ALPHA", "COLLECT", "PRINCIPAL")] == D("159.38")
    assert installments("L1")[1][-1] == "PAID"
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.dpd, loan.principal_outstanding) == ("ACTIVE", 0, D("5771.20"))
    assert gl(chart.LOANS_RECEIVABLE, D2) == D("4039.84")  # 4,411.71 − 371.87
    assert gl(chart.INTEREST_INCOME, D2) == D("186.57")  # 105.00 + 48.48 + 33.09


def test_payoff_mid_period_closes_every_share_to_zero(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    d = date(2026, 3, 1)
    # Principal 9,233.20 + interest to date 138.50 × 14/28 = 69.25 → 9,302.45.
    settle(d, repayments=[pay_row("T2", "L1", d, "9302.45", kind="PAYOFF")])
    assert movements("L1", d) == {
        ("BANK", "COLLECT", "INTEREST"): D("48.48"), ("ALPHA", "COLLECT", "INTEREST"): D("20.77"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("6463.24"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("2769.96")}
    assert shares("L1") == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.closed_on, loan.principal_outstanding) == ("PAID_OFF", d, 0)
    assert all(i[-1] == "PAID" and i[2] == i[4] and i[3] == i[5] for i in installments("L1"))
    assert statement("ALPHA", d) == (D("6511.72"), {"COLLECTION_PRINCIPAL": D("6463.24"),
                                                     "COLLECTION_INTEREST": D("48.48")})
    assert gl(chart.LOANS_RECEIVABLE, d) == 0
    assert gl(chart.LOANS_RECEIVABLE, d, book="MEMO_ALPHA") == 0
    assert gl(chart.INTEREST_RECEIVABLE, d) == 0
    assert gl(chart.INTEREST_INCOME, d) == D("153.48")  # 105.00 + 48.48
    # Nothing accrues after the payoff.
    later = date(2026, 3, 20)
    settle(later)
    assert gl(chart.INTEREST_RECEIVABLE, later) == 0
    assert positions("L1", later) == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}


def test_overpayment_goes_to_suspense_and_pays_the_next_instalment(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "1000.00")])
    # 916.80 pays instalment 1, 83.20 is held in suspense (never forced onto principal).
    net, lines = statement("ALPHA", D1)
    assert lines == {"COLLECTION_PRINCIPAL": D("536.76"), "COLLECTION_INTEREST": D("105.00"),
                     "OVERPAYMENT": D("83.20")}
    assert net == D("724.96")
    assert gl(chart.OVERPAYMENT_SUSPENSE, D1) == D("83.20")
    assert shares("L1")["BANK"][0] == D("6463.24")

    # 03-15: the suspense pays instalment 2 first (interest 138.50, split 96.95 / 41.55 when
    # billed): 83.20 by interest balances → 58.24 / 24.96; then the borrower's 833.60 pays the
    # rest: interest 38.71 / 16.59, principal 778.30 → 544.81 / 233.49.
    settle(D2, repayments=[pay_row("T2", "L1", D2, "833.60")])
    assert movements("L1", D2) == {
        ("BANK", "SUSPENSE_APPLY", "INTEREST"): D("58.24"),
        ("ALPHA", "SUSPENSE_APPLY", "INTEREST"): D("24.96"),
        ("BANK", "COLLECT", "INTEREST"): D("38.71"), ("ALPHA", "COLLECT", "INTEREST"): D("16.59"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("544.81"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("233.49")}
    assert statement("ALPHA", D2) == (D("558.56"), {
        "SUSPENSE_TO_PARTNER": D("-24.96"), "COLLECTION_INTEREST": D("38.71"),
        "COLLECTION_PRINCIPAL": D("544.81")})
    assert gl(chart.OVERPAYMENT_SUSPENSE, D2) == 0
    assert gl(chart.INTEREST_INCOME, D2) == D("201.95")  # 105.00 + 96.95
    assert shares("L1") == {"BANK": (D("5918.43"), 0, 0), "ALPHA": (D("2536.47"), 0, 0)}
    assert Loan.objects.get(loan_no="L1").overpaid_amount == 0
