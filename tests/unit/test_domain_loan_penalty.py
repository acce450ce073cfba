"""lending.domain.loan_penalty: each instalment's part of the loan's penalty (DOMAIN §8.2, §8.6).

Properties: the parts sum exactly to the loan's rounded amount; each part but the latest is the
instalment's own amount × days rounded; held to the shares, the parts sum to what the shares
hold and none is negative."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from lending.domain.loan_penalty import attribute, inst_amount_days, settle_to_shares
from lending.domain.loan_state import Inst, LoanState, Share

RATE = D("0.00075")  # 27 %/yr on /360


def rounded(amount_days: D) -> D:
    return (amount_days * RATE).quantize(D("0.01"), ROUND_HALF_UP)


def _loan(unpaid: list[tuple[D, D]], billed: int, rounded_on: date) -> LoanState:
    insts = [Inst(k + 1, date(2026, 1, 15) + timedelta(days=30 * (k + 1)), p, i, D("0"), D("0"))
             for k, (p, i) in enumerate(unpaid)]
    shares = {1: Share(1, D("0"), D("0"), D("0"), D("0"), D("0.7"), D("0.7"), False, D("0")),
              2: Share(2, D("0"), D("0"), D("0"), D("0"), D("0.3"), D("0.3"), True, D("0"))}
    return LoanState(1, 1, "OVERDUE", True, D("0"), None, None, D("0"), billed, rounded_on,
                     D("0"), D("0"), None, None, None, None, None, None, 0, shares, insts,
                     penalty_rounded_on=rounded_on)


money = st.decimals(min_value=0, max_value=100_000, places=2)


@given(unpaid=st.lists(st.tuples(money, money), min_size=1, max_size=8),
       billed=st.integers(min_value=1, max_value=8), days=st.integers(min_value=1, max_value=400))
def test_the_parts_make_up_the_loans_rounded_penalty(unpaid, billed, days):
    billed = min(billed, len(unpaid))
    loan = _loan(unpaid, billed, date(2026, 2, 14))
    until = date(2026, 2, 14) + timedelta(days=days)
    parts = inst_amount_days(loan, 0, until)
    pen_days = sum((p for _i, p, _c in parts), D(0))
    cmp_days = sum((c for _i, _p, c in parts), D(0))
    pen, cmp_ = rounded(pen_days), rounded(cmp_days)
    attribute(parts, pen, cmp_, pen_days, cmp_days, rounded, loan)
    assert sum((i.penalty_unpaid for i in loan.insts), D(0)) == pen
    assert sum((i.compound_unpaid for i in loan.insts), D(0)) == cmp_
    with_days = [i for i, p, _c in parts if p]
    for inst in with_days[:-1]:  # every part but the latest is its own, rounded
        own = next(p for i, p, _c in parts if i is inst)
        assert inst.penalty_unpaid == rounded(own)
    # only billed instalments past due owe penalty
    assert all(not i.penalty_unpaid for i in loan.insts
               if i.seq > billed or i.due_on >= until)


@given(parts=st.lists(st.decimals(min_value=-1, max_value=1000, places=2), min_size=1,
                      max_size=6),
       total=st.decimals(min_value=0, max_value=2000, places=2))
def test_held_to_the_shares_the_parts_sum_to_them_and_none_is_negative(parts, total):
    loan = _loan([(D("100.00"), D("10.00"))] * len(parts), len(parts), date(2026, 2, 14))
    for inst, part in zip(loan.insts, parts, strict=True):
        inst.penalty_unpaid = part
    loan.shares[1].penalty = total - (total / 3).quantize(D("0.01"))
    loan.shares[2].penalty = (total / 3).quantize(D("0.01"))
    settle_to_shares(loan)
    assert sum((i.penalty_unpaid for i in loan.insts), D(0)) == total
    assert all(i.penalty_unpaid >= 0 for i in loan.insts)
    # a part held beyond the shares is taken from the latest instalments first
    kept = [max(p, D(0)) for p in parts]
    if sum(kept) >= total:
        first_cut = next((k for k in range(len(kept))
                          if sum(kept[:k + 1]) > total), len(kept))
        assert [i.penalty_unpaid for i in loan.insts[:first_cut]] == kept[:first_cut]
