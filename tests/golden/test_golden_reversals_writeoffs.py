"""Golden days: reversal after settlement (冲正, DOMAIN §7.2), write-off at the program's DPD and
a later recovery (核销, §7.10). Loan: 10,000.00 / 18 % / 12 equal instalments (916.80), 70/30.
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
    loan_row_in,
    movements,
    pay_row,
    positions,
    program_in,
    settle,
    shares,
    statement,
)

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 15)


def test_reversal_two_days_after_settlement_undoes_the_original_split(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    assert gl(chart.LOANS_RECEIVABLE, D1) == D("6463.24")
    rev = date(2026, 2, 17)
    settle(rev, reversals=[("R1", "T1", rev, "916.80", "card chargeback")])
    # Every original movement negated, with the original amounts (not a recomputed split).
    assert movements("L1", rev) == {
        ("BANK", "COLLECT", "INTEREST"): D("-105.00"),
        ("ALPHA", "COLLECT", "INTEREST"): D("-45.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("-536.76"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("-230.04")}
    assert statement("ALPHA", rev) == (D("-641.76"), {
        "REVERSAL_COLLECTION_PRINCIPAL": D("-536.76"),
        "REVERSAL_COLLECTION_INTEREST": D("-105.00")})
    j = journal(rev)
    assert j[("REVERSAL_COLLECT", chart.LOANS_RECEIVABLE)] == (D("536.76"), 0)
    assert j[("REVERSAL_COLLECT", chart.INTEREST_RECEIVABLE)] == (D("105.00"), 0)
    assert j[("REVERSAL_COLLECT", chart.DUE_FROM_PLATFORM)] == (0, D("641.76"))
    # The GL is back: loans 7,000.00, due from platform 0; interest receivable 105.00 again
    # plus period 2's accrual HALF_UP(138.50 × 2/28) = 9.89 → bank 6.92: 111.92. Interest
    # income is not reversed (the interest is owed again, not forgiven).
    assert gl(chart.LOANS_RECEIVABLE, rev) == D("7000.00")
    assert gl(chart.LOANS_RECEIVABLE, rev, book="MEMO_ALPHA") == D("3000.00")
    assert gl(chart.DUE_FROM_PLATFORM, rev) == 0
    assert gl(chart.INTEREST_RECEIVABLE, rev) == D("111.92")
    assert gl(chart.INTEREST_INCOME, rev) == D("111.92")
    # Instalment 1 is unpaid again and overdue since 02-15; penalty runs from the due date
    # (DOMAIN §8.3), crystallised on the reversal day: 2 days, 766.80 × 0.00075 × 2 = 1.15 and
    # 150.00 × 0.00075 × 2 = 0.23, bank HALF_UP(1.15 × 0.7) + HALF_UP(0.23 × 0.7) = 0.81 + 0.16.
    assert shares("L1") == {"BANK": (D("7000.00"), D("105.00"), D("0.97")),
                            "ALPHA": (D("3000.00"), D("45.00"), D("0.41"))}
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.dpd) == ("OVERDUE", 2)
    assert installments("L1")[0][4:] == (0, 0, "OVERDUE")
    nxt = date(2026, 2, 18)
    settle(nxt)
    # One more day: 766.80 × 0.00075 = 0.5751 → 0.58 and 150.00 × 0.00075 = 0.1125 → 0.11,
    # bank HALF_UP(0.58 × 0.7) + HALF_UP(0.11 × 0.7) = 0.41 + 0.08 = 0.49; with the 0.97
    # crystallised on 02-17: 1.46.
    assert positions("L1", nxt)["BANK"][2] == D("1.46")
    assert gl(chart.PENALTY_RECEIVABLE, nxt) == D("1.46")


def test_reversal_of_an_overpayment_takes_back_the_suspense(golden):
    settle(D0, loans=[loan_row("L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "1000.00")])  # 83.20 to suspense
    rev = date(2026, 2, 20)
    settle(rev, reversals=[("R1", "T1", rev, "1000.00", "")])
    assert movements("L1", rev)[("BANK", "OVERPAY", "OVERPAYMENT")] == D("-83.20")
    assert statement("ALPHA", rev)[1]["REVERSAL_OVERPAYMENT"] == D("-83.20")
    assert gl(chart.OVERPAYMENT_SUSPENSE, rev) == 0
    assert Loan.objects.get(loan_no="L1").overpaid_amount == 0


@pytest.fixture
def wo_program(golden):
    return program_in(golden, "WO", "write-off", claim_trigger_dpd=None, write_off_dpd=60)


def test_write_off_at_the_program_dpd_and_a_later_recovery(golden, wo_program):
    settle(D0, loans=[loan_row_in("WO", "L1")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    settle(date(2026, 3, 15), repayments=[pay_row("T2", "L1", date(2026, 3, 15), "916.80")])
    settle(date(2026, 4, 15))
    settle(date(2026, 5, 15))
    wo = date(2026, 6, 14)  # period 3 (due 04-15) reaches DPD 60
    settle(wo)
    # At write-off everything accrued is crystallised and written off per funder:
    # interest: period 3 126.82 (bank 88.77), period 4 114.97 (80.48), period 5 30 of 31 days
    #   HALF_UP(102.95 × 30/31) = 99.63 (bank 69.74): bank 238.99, ALPHA 102.43;
    # penalty: 04-15→05-15 17.77 (bank 12.44) + 05-15→06-14 1,591.81 × 0.00075 × 30 = 35.82
    #   (bank 25.07): bank 37.51, ALPHA 16.08;
    # compound: 2.85 (bank 2.00) + 241.79 × 0.0225 = 5.44 (bank 3.81): bank 5.81, ALPHA 2.48.
    m = movements("L1", wo)
    assert {k: v for k, v in m.items() if k[0] == "BANK"} == {
        ("BANK", "WRITE_OFF", "PRINCIPAL"): D("5918.43"),
        ("BANK", "WRITE_OFF", "INTEREST"): D("238.99"),
        ("BANK", "WRITE_OFF", "PENALTY"): D("37.51"),
        ("BANK", "WRITE_OFF", "COMPOUND"): D("5.81")}
    assert m[("ALPHA", "WRITE_OFF", "PRINCIPAL")] == D("2536.47")
    assert m[("ALPHA", "WRITE_OFF", "INTEREST")] == D("102.43")
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.state, loan.written_off_on) == ("WRITTEN_OFF", wo)
    assert shares("L1") == {"BANK": (0, 0, 0), "ALPHA": (0, 0, 0)}
    # Bank book: Dr loss allowance / Cr loans 5,918.43; accrued interest and penalty are no
    # longer receivable: the derived accrual delta takes them back out of income.
    j = journal(wo)
    assert j[("WRITE_OFF", chart.LOSS_ALLOWANCE)] == (D("5918.43"), 0)
    assert j[("WRITE_OFF", chart.LOANS_RECEIVABLE)] == (0, D("5918.43"))
    assert gl(chart.LOANS_RECEIVABLE, wo) == 0
    assert gl(chart.INTEREST_RECEIVABLE, wo) == 0
    assert gl(chart.PENALTY_RECEIVABLE, wo) == 0
    assert gl(chart.INTEREST_INCOME, wo, program="ALPHA/WO") == D("201.95")  # 105.00 + 96.95
    assert gl(chart.PENALTY_INCOME, wo, program="ALPHA/WO") == 0

    rec = date(2026, 6, 20)
    settle(rec, repayments=[pay_row("T3", "L1", rec, "1000.00")])
    # Written off: bank 5,918.43 + 238.99 + 37.51 + 5.81 = 6,200.74, ALPHA 2,536.47 + 102.43 +
    # 16.08 + 2.48 = 2,657.46 (exactly 70/30 of 8,858.20): 1,000.00 → 700.00 / 300.00.
    assert movements("L1", rec) == {("BANK", "WO_RECOVERY", "PRINCIPAL"): D("700.00"),
                                    ("ALPHA", "WO_RECOVERY", "PRINCIPAL"): D("300.00")}
    assert gl(chart.WRITE_OFF_RECOVERIES, rec, program="ALPHA/WO") == D("700.00")
    assert gl(chart.INTEREST_INCOME, rec, program="ALPHA/WO") == D("201.95")  # not interest
    assert statement("ALPHA", rec) == (D("700.00"), {"WRITE_OFF_RECOVERY": D("700.00")})
    assert Loan.objects.get(loan_no="L1").state == "WRITTEN_OFF"
