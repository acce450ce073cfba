"""Golden days: a legacy 80/20 loan (disbursed before 2022-01-01, partner share below 30 %,
DOMAIN §7.5) keeps settling while a new loan under the same terms is refused (R1); a loan
crossing 90 DPD goes non-accrual (R16: interest and penalty off balance to 7101) and comes back
on balance when the arrears are cleared (§7.4).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.domain import chart
from lending.models import Loan
from partners.models import QuarantinedRow
from tests.factories import lending as f
from tests.golden.helpers import (
    gl,
    loan_row,
    loan_row_in,
    movements,
    pay_row,
    settle,
    shares,
)

pytestmark = pytest.mark.django_db


def test_legacy_80_20_loan_keeps_settling_and_a_new_one_is_refused(golden):
    version = f.active_agreement(code="AG-L", platform=golden["platform"],
                                 bank_ratio=D("0.80"), effective_from=date(2021, 1, 1))
    f.program(code="LEG", version=version, max_annual_rate=D("0.24"), claim_trigger_dpd=None)
    d0, d1, d2 = date(2021, 6, 15), date(2021, 7, 15), date(2021, 8, 15)
    settle(d0, loans=[loan_row_in("LEG", "OLD", disbursed="2021-06-15",
                                  first_due="2021-07-15")])
    assert shares("OLD") == {"BANK": (D("8000.00"), 0, 0), "ALPHA": (D("2000.00"), 0, 0)}
    assert Loan.objects.get(loan_no="OLD").bank_ratio == D("0.80")
    settle(d1, repayments=[pay_row("T1", "OLD", d1, "916.80")])
    # 150.00 interest → 120.00 / 30.00; 766.80 principal → HALF_UP(766.80 × 0.8) = 613.44 / 153.36.
    assert movements("OLD", d1) == {
        ("BANK", "COLLECT", "INTEREST"): D("120.00"), ("ALPHA", "COLLECT", "INTEREST"): D("30.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("613.44"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("153.36")}
    settle(d2, repayments=[pay_row("T2", "OLD", d2, "916.80")])
    # 138.50 → 110.80 / 27.70; 778.30 by balances 7,386.56 / 1,846.64 (80/20) → 622.64 / 155.66.
    assert shares("OLD") == {"BANK": (D("6763.92"), 0, 0), "ALPHA": (D("1690.98"), 0, 0)}
    assert gl(chart.LOANS_RECEIVABLE, d2, program="ALPHA/LEG") == D("6763.92")
    assert gl(chart.INTEREST_INCOME, d2, program="ALPHA/LEG") == D("230.80")
    # From 2022-01-01 the same 80/20 terms may not book a new loan (R1).
    new = date(2022, 1, 5)
    settle(new, loans=[loan_row_in("LEG", "NEW", disbursed="2022-01-05",
                                   first_due="2022-02-05")])
    q = QuarantinedRow.objects.get(business_date=new)
    # refused at intake already (the agreement's 80 % is above 70 % for that date)
    assert (q.reason, q.column) == ("LIMIT_EXCEEDED", "disbursed_on"), q.message
    assert not Loan.objects.filter(loan_no="NEW").exists()
    assert Loan.objects.get(loan_no="OLD").state == "OVERDUE"  # and it still ages


def test_non_accrual_after_90_dpd_and_back_when_arrears_are_cleared(golden):
    settle(date(2026, 1, 15), loans=[loan_row("L1")])
    settle(date(2026, 2, 15), repayments=[pay_row("T1", "L1", date(2026, 2, 15), "916.80")])
    settle(date(2026, 3, 15), repayments=[pay_row("T2", "L1", date(2026, 3, 15), "916.80")])
    for d in (date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15), date(2026, 7, 4)):
        settle(d)
    assert Loan.objects.get(loan_no="L1").accruing
    d91 = date(2026, 7, 15)  # period 3 (due 04-15) is 91 days past due; period 6 falls due
    settle(d91)
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.accruing, loan.risk_class) == (91, False, "SUBSTANDARD")
    # Bank interest periods 3–6: 88.77 + 80.48 + 72.07 + HALF_UP(90.74 × 0.7) 63.52 = 304.84;
    # penalty 17.77 + 37.01 + 34.28 + (07-04→07-15, 11 d on 2,405.66) 19.85, bank
    # 12.44 + 25.91 + 24.00 + 13.90 = 76.25; compound 2.85 + 5.62 + 4.91 + (344.74 × 0.00825)
    # 2.84, bank 2.00 + 3.93 + 3.44 + 1.99 = 11.36. All of it moves off balance: 392.45.
    assert gl(chart.OFF_BALANCE_INTEREST, d91) == D("392.45")
    assert gl(chart.INTEREST_RECEIVABLE, d91) == 0
    assert gl(chart.PENALTY_RECEIVABLE, d91) == 0
    assert gl(chart.INTEREST_INCOME, d91) == D("201.95")  # 105.00 + 96.95 (periods 1–2)
    assert gl(chart.PENALTY_INCOME, d91) == 0

    cure = date(2026, 7, 20)
    # Arrears: principal 789.98 + 801.83 + 813.85 + 826.06 = 3,231.72, interest 435.48;
    # penalty 121.03 (+ 07-15→07-20 on 3,231.72: 12.12), compound 17.85 (+ 435.48 × 0.00375
    # = 1.63): 3,231.72 + 435.48 + 121.03 + 17.85 = 3,806.08.
    settle(cure, repayments=[pay_row("T3", "L1", cure, "3806.08")])
    loan = Loan.objects.get(loan_no="L1")
    assert (loan.dpd, loan.accruing, loan.state, loan.overpaid_amount) == (0, True, "ACTIVE", 0)
    assert gl(chart.OFF_BALANCE_INTEREST, cure) == 0
    # Back on balance: period 7 accrues from 07-15, HALF_UP(78.35 × 5/31) = 12.64 → bank 8.85.
    assert gl(chart.INTEREST_RECEIVABLE, cure) == D("8.85")
    # Each instalment's principal is split by the then current balances (5,918.43 / 2,536.47
    # first): 552.99, then 801.83 × 5,365.44 / 7,664.92 = 561.28, 813.85 × 4,804.16 / 6,863.09
    # = 569.6946 → 569.69, 826.06 × 4,234.47 / 6,049.24 = 578.24; 5,918.43 − 2,262.20.
    assert gl(chart.LOANS_RECEIVABLE, cure) == D("3656.23")
