"""A prepayment that pays no principal (DOMAIN §8.4, §8.6): the rest of the period accrues on
the balance for its remaining days, as after any prepayment.

The 10,000.00 / 18 % / 12-month golden loan (bank 70 %, ALPHA 30 %), disbursed 01-15, first
due 02-15 (31 days, a regular month: 150.00 of interest).
- 01-20 PREPAYMENT 1,024.00: interest to date HALF_UP(150.00 × 5/31) = 24.19, principal
  999.81, balance 9,000.19; a month's interest on it is HALF_UP(9,000.19 × 1.5 %) = 135.00, so
  the rest of the period accrues 135.00 × 26/31 = 113.2258… and instalment 1's interest is
  24.19 + 113.23 = 137.42.
- 01-27 PREPAYMENT 20.00, less than the interest to date: HALF_UP(113.2258… × 7/26) = 30.48
  is crystallised, 20.00 of it paid, no principal. The rest of the period, 19 of its 31 days,
  accrues on the unchanged balance: 135.00 × 19/31 = 82.7419… → 82.74, and instalment 1's
  interest is 24.19 + 30.48 + 82.74 = 137.41. (Before, the engine kept the period's interest
  less what it had crystallised, 113.2258… − 30.48 → 82.75, and billed 137.42: the oracle's
  model, written from DOMAIN.md alone, found the cent.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Loan
from tests.golden.helpers import loan_row, movements, pay_row, settle

pytestmark = pytest.mark.django_db


def test_a_prepayment_below_the_interest_to_date_rebases_the_rest_of_the_period(golden):
    settle(date(2026, 1, 15), loans=[loan_row("L1")])
    settle(date(2026, 1, 20),
           repayments=[pay_row("P1", "L1", date(2026, 1, 20), "1024.00", kind="PREPAYMENT")])
    loan = Loan.objects.get(loan_no="L1")
    assert loan.principal_outstanding == D("9000.19")
    assert loan.installments.get(seq=1).interest_due == D("137.42")
    settle(date(2026, 1, 27),
           repayments=[pay_row("P2", "L1", date(2026, 1, 27), "20.00", kind="PREPAYMENT")])
    m = movements("L1", date(2026, 1, 27))
    assert m[("BANK", "COLLECT", "INTEREST")] + m[("ALPHA", "COLLECT", "INTEREST")] == D("20.00")
    assert not any(k[2] == "PRINCIPAL" for k in m)
    loan = Loan.objects.get(loan_no="L1")
    inst = loan.installments.get(seq=1)
    assert (inst.interest_due, inst.interest_paid) == (D("137.41"), D("44.19"))
    assert loan.principal_outstanding == D("9000.19")
    assert loan.accrual_amount.quantize(D("0.0000000001")) == D("82.7419354839")
