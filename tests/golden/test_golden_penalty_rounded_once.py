"""Penalty rounded once (DOMAIN §8.6): a loan touched by an event while penalty runs does not
round the penalty at the end of that day.

The 10,000.00 / 18 % / 12-month golden loan (bank 70 %, ALPHA 30 %, no grace): instalment 1,
due 02-15, is 916.80 (interest 150.00, principal 766.80). 501.07 paid on the due date but
delivered in 02-16's file pays the interest and 351.07 of principal: 415.73 stays overdue.
Penalty (27 %/yr, /360 → 0.075 % a day) on 415.73 is 0.3117975 a day; on 02-18 three days are
0.9353925 → 0.94 (one rounding). Rounding the first day on 02-16, the day the late payment
touched the loan, and the next two on 02-18 gave 0.31 + 0.62 = 0.93 (found by the oracle:
tests/oracle, a cent of penalty on a statement). Paying 416.67 on 02-18 then pays 0.94 of
penalty and 415.73 of principal: instalment 1 PAID, no advance left.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from tests.golden.helpers import loan_row, movements, pay_row, settle

pytestmark = pytest.mark.django_db


def test_penalty_over_days_with_an_event_is_rounded_once(golden):
    settle(date(2026, 1, 15), loans=[loan_row("L1")])
    settle(date(2026, 2, 13))
    settle(date(2026, 2, 16), repayments=[pay_row("T1", "L1", date(2026, 2, 15), "501.07")])
    m = movements("L1", date(2026, 2, 16))
    assert m[("BANK", "COLLECT", "INTEREST")] + m[("ALPHA", "COLLECT", "INTEREST")] == D("150.00")
    assert m[("BANK", "COLLECT", "PRINCIPAL")] + m[("ALPHA", "COLLECT", "PRINCIPAL")] == \
        D("351.07")
    settle(date(2026, 2, 17))
    settle(date(2026, 2, 18), repayments=[pay_row("T2", "L1", date(2026, 2, 18), "416.67")])
    m = movements("L1", date(2026, 2, 18))
    # 0.94 split by penalty weights: bank HALF_UP(0.94 × 0.7) = 0.66, ALPHA the rest 0.28
    assert (m[("BANK", "COLLECT", "PENALTY")], m[("ALPHA", "COLLECT", "PENALTY")]) == (
        D("0.66"), D("0.28"))
    assert m[("BANK", "COLLECT", "PRINCIPAL")] + m[("ALPHA", "COLLECT", "PRINCIPAL")] == \
        D("415.73")
    assert not any(k[1] == "OVERPAY" for k in m)
    loan = Loan.objects.get(loan_no="L1")
    inst = loan.installments.get(seq=1)
    assert (inst.status, loan.overpaid_amount, loan.dpd) == ("PAID", 0, 0)
