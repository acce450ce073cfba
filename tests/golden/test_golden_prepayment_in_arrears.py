"""A PREPAYMENT that what has fallen due takes whole (DOMAIN §8.2, §8.4): it prepays nothing,
so it is applied as a scheduled payment — the running period's interest is not crystallised
to the day and the period is not re-based.

Found by the oracle (CL world 9 of 20): replayed without a reversed payment, a later
PREPAYMENT of 210.18 met an overdue instalment that took all of it; the engine had still
crystallised the running period's interest to the day (16.63 left on the shares) and re-based
the period, the model left both alone.

The golden loan (ALPHA, program CASH): 10,000.00 / 18 % / 12 × 916.80, disbursed 01-15;
instalment 1 (02-15: 766.80 + 150.00) unpaid; PREPAYMENT 500.00 on 02-20. Penalty 5 days at
0.075 %: 766.80 → 2.88 (2.02 / 0.86), compound 150.00 → 0.56 (0.39 / 0.17).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from tests.golden.helpers import installments, loan_row, movements, pay_row, settle, shares

pytestmark = pytest.mark.django_db


def test_a_prepayment_that_arrears_take_whole_is_a_scheduled_payment(golden):
    settle(date(2026, 1, 15), loans=[loan_row("Q1")])
    settle(date(2026, 2, 16))
    day = date(2026, 2, 20)
    settle(day, repayments=[pay_row("P1", "Q1", day, "500.00", kind="PREPAYMENT")])
    # instalment 1: penalty 2.88, compound 0.56, interest 150.00, principal 346.56 (70/30)
    assert movements("Q1", day) == {
        ("BANK", "COLLECT", "PENALTY"): D("2.02"), ("ALPHA", "COLLECT", "PENALTY"): D("0.86"),
        ("BANK", "COLLECT", "COMPOUND"): D("0.39"), ("ALPHA", "COLLECT", "COMPOUND"): D("0.17"),
        ("BANK", "COLLECT", "INTEREST"): D("105.00"), ("ALPHA", "COLLECT", "INTEREST"): D("45.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("242.59"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("103.97"),
    }
    # Nothing of period 2 crystallised (it was 138.50 × 5 / 28 = 24.73 on the shares before,
    # and the period re-based on the day): its interest accrues from 02-15 as scheduled.
    assert shares("Q1")["BANK"][1] == 0 and shares("Q1")["ALPHA"][1] == 0
    assert [i[2:4] for i in installments("Q1")[:2]] == [
        (D("766.80"), D("150.00")), (D("778.30"), D("138.50"))]
    loan = Loan.objects.get(loan_no="Q1")
    assert (loan.accrual_from, loan.accrual_amount) == (date(2026, 2, 15), D("138.50"))
