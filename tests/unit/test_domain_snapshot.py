"""lending.domain.loan_snapshot: a loan's state kept as JSON values comes back exactly."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from lending.domain.loan_snapshot import dump_loan, load_loan
from lending.domain.loan_state import Inst, LoanState, Share


def _loan(amount: D, day: date, carry: D) -> LoanState:
    shares = {
        1: Share(1, amount, D("1.2300"), D("0"), D("0.00"), D("0.7"), D("0.7"), False,
                 amount, rate=D("0.10")),
        7: Share(7, D("300.00"), D("0.53"), D("0.01"), D("0"), D("0.3"), D("0.3"), True,
                 D("300.00"), claimed=D("1.00")),
    }
    insts = [Inst(1, day, D("766.80"), D("150.00"), D("766.80"), D("150.00"), "PAID", day),
             Inst(2, date(2026, 3, 15), D("778.30"), D("138.50"), D("0"), D("0.00"))]
    return LoanState(42, 3, "OVERDUE", True, D("0.00"), day, date(2026, 3, 15),
                     D("12.3456789012"), 1, None, D("0"), D("0.00"), None, None, None, None,
                     None, None, 3, shares, insts, disbursed_on=date(2026, 1, 15),
                     principal=D("10000.00"), penalty_carry=carry, round_txn=9)


@given(amount=st.decimals(min_value=0, max_value=10**9, places=2),
       day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       carry=st.decimals(min_value=0, max_value=10**6, places=10))
def test_a_loan_comes_back_exactly_through_json(amount, day, carry):
    loan = _loan(amount, day, carry)
    back = load_loan(json.loads(json.dumps(dump_loan(loan))))
    assert back == loan
    # the exponent too (0.00 stays 0.00, not 0): what is written back is what was read
    assert str(back.shares[7].compound) == "0"
    assert str(back.shares[1].compound) == "0.00"
    assert back.penalty_carry.as_tuple() == carry.as_tuple()


def test_an_older_snapshot_without_a_later_field_takes_its_default():
    data = dump_loan(_loan(D("7000.00"), date(2026, 2, 15), D("0")))
    del data["round_txn"], data["claim_left"]
    back = load_loan(data)
    assert back.round_txn is None and back.claim_left is None
    assert back.shares[1].principal == D("7000.00")
