"""The waterfall across instalments with penalty (DOMAIN §8.2): instalment-major, oldest first,
each instalment's penalty and compound interest paid with it — a partial payment pays the
oldest instalment's principal before a later instalment's penalty.

ALPHA's golden program CASH (grace 0, penalty 1.5 × 18 % = 27 %/yr on /360: 0.075 % a day):
10,000.00 at 18 %, 12 × 916.80, disbursed 2026-01-15. Instalment 1 (due 02-15) is 766.80 +
150.00, instalment 2 (due 03-15) 778.30 + 138.50; nothing is paid until 900.00 on 03-25.

Penalty is rounded once for the loan at each rounding point and split 70/30 by the penalty
weights (§8.6); each instalment keeps its part (its own amount × days, HALF_UP; the latest
instalment what rounding leaves):
  02-15→03-15 28 d, instalment 1 only: penalty 766.80 → 16.10, compound 150.00 → 3.15
  03-15→03-25 10 d: penalty 1,545.10 → 11.59 (instalment 1: 5.751 → 5.75, instalment 2 the
    rest 5.84); compound 288.50 → 2.16 (instalment 1: 1.125 → 1.13, instalment 2: 1.03)
So instalment 1 owes penalty 21.85 and compound 4.28, instalment 2 penalty 5.84 and compound
1.03; the shares hold penalty 27.69 (bank 11.27 + 8.11 = 19.38, ALPHA 8.31) and compound 5.31
(bank 2.21 + 1.51 = 3.72, ALPHA 1.59).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.models import Installment, Loan
from tests.golden.helpers import loan_row, movements, pay_row, settle, shares

pytestmark = pytest.mark.django_db

D0, PAY = date(2026, 1, 15), date(2026, 3, 25)


def test_a_partial_payment_pays_the_oldest_instalment_before_a_later_ones_penalty(golden):
    settle(D0, loans=[loan_row("W1")])
    settle(date(2026, 2, 16))
    settle(PAY, repayments=[pay_row("P1", "W1", PAY, "900.00")])
    # 900.00 → instalment 1: penalty 21.85, compound 4.28, interest 150.00, principal
    # 900 − 176.13 = 723.87; nothing reaches instalment 2's penalty. (Paying the loan's whole
    # penalty first, 27.69 + 5.31, left 717.00 for instalment 1's principal.)
    # Split by balances: HALF_UP(21.85 × 19.38 / 27.69) = 15.29 / 6.56; HALF_UP(4.28 × 3.72 /
    # 5.31) = 3.00 / 1.28; interest 105.00 / 45.00; principal 70/30: 506.71 / 217.16.
    assert movements("W1", PAY) == {
        ("BANK", "COLLECT", "PENALTY"): D("15.29"), ("ALPHA", "COLLECT", "PENALTY"): D("6.56"),
        ("BANK", "COLLECT", "COMPOUND"): D("3.00"), ("ALPHA", "COLLECT", "COMPOUND"): D("1.28"),
        ("BANK", "COLLECT", "INTEREST"): D("105.00"), ("ALPHA", "COLLECT", "INTEREST"): D("45.00"),
        ("BANK", "COLLECT", "PRINCIPAL"): D("506.71"),
        ("ALPHA", "COLLECT", "PRINCIPAL"): D("217.16"),
    }
    inst = {i.seq: (i.principal_paid, i.penalty_unpaid, i.penalty_paid, i.compound_unpaid,
                    i.compound_paid)
            for i in Installment.objects.filter(loan__loan_no="W1", seq__in=(1, 2))}
    assert inst == {1: (D("723.87"), 0, D("21.85"), 0, D("4.28")),
                    2: (0, D("5.84"), 0, D("1.03"), 0)}
    # What instalment 2 owes of penalty and compound stays on the shares: 19.38 − 15.29 +
    # 3.72 − 3.00 = 4.81 for the bank, 8.31 − 6.56 + 1.59 − 1.28 = 2.06 for ALPHA.
    assert shares("W1")["BANK"][2] == D("4.81")
    assert shares("W1")["ALPHA"][2] == D("2.06")
    loan = Loan.objects.get(loan_no="W1")
    assert (loan.state, loan.oldest_unpaid_due_on) == ("OVERDUE", date(2026, 2, 15))
