"""The accrual split by share weights (`lending.domain.split.weighted_parts`, and its SQL twin in
lending/sql/positions.sql): what the agreement rules admit never gives a part of the wrong sign,
and what they refuse raises instead of posting one."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lending.domain.split import SplitError, weighted_parts
from lending.domain.weights import WEIGHT_PLACES

cents = st.integers(-10**6, 10**6).map(lambda c: Decimal(c) / 100)
# weights as the shares store them: 12 places, Σ = 1 up to the last place
raw = st.integers(1, 10**6)


def normalised(values):
    total = sum(values)
    return [(Decimal(v) / total).quantize(WEIGHT_PLACES) for v in values]


@settings(max_examples=600, deadline=None)
@given(amount=cents, residual=raw, others=st.lists(st.integers(0, 10**6), min_size=1,
                                                   max_size=2))
def test_at_most_two_others_and_a_funding_residual_never_give_a_wrong_sign(amount, residual,
                                                                         others):
    ws = normalised([residual, *others])
    weights = {"R": ws[0], **{f"F{i}": w for i, w in enumerate(ws[1:])}}
    parts = weighted_parts(amount, weights, "R")
    assert sum(parts.values()) == amount
    for part in parts.values():
        assert part * amount >= 0


def test_the_half_cent_ties_of_two_others_over_a_zero_residual_raise():
    # 0.01 by 0.5 / 0.5 with nothing to the residual: both round up to 0.01, the residual −0.01
    with pytest.raises(SplitError, match="residual owner"):
        weighted_parts(Decimal("0.01"), {"R": Decimal(0), "A": Decimal("0.5"),
                                         "B": Decimal("0.5")}, "R")


def test_four_others_can_overshoot_and_raise():
    # found by search: 0.03 over four non-residual weights of ~0.17 (each rounds 0.0051 up)
    w = Decimal("0.17")
    with pytest.raises(SplitError):
        weighted_parts(Decimal("0.03"), {"R": Decimal("0.32"), "A": w, "B": w, "C": w,
                                         "D": w}, "R")


def test_a_reversal_amount_mirrors():
    parts = weighted_parts(Decimal("-0.03"), {"R": Decimal("0.3"), "B": Decimal("0.7")}, "R")
    assert parts == {"R": Decimal("-0.01"), "B": Decimal("-0.02")}


def test_a_half_cent_part_of_a_ten_place_accrual_rounds_up():
    # found by the oracle (seed 21): 13.31 × 26/30 stored to 10 places is 11.5353333333;
    # 15 of its 26 days are exactly 13.31 × 15/30 = 6.655 → 6.66, not 6.654999999981 → 6.65
    from lending.domain.money import accrued_part

    assert accrued_part(Decimal("11.5353333333"), 15, 26) == Decimal("6.66")
    assert accrued_part(Decimal("11.5353333333"), 14, 26) == Decimal("6.21")
