"""DOMAIN §8.5: an irregular first period of EQUAL_INSTALLMENT / EQUAL_PRINCIPAL schedules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from lending.domain.schedule import Method, add_months, build_schedule


def test_seven_day_first_period_equal_installment_act_360():
    s = build_schedule(D("10000.00"), D("0.18"), 12, Method.EQUAL_INSTALLMENT,
                       date(2026, 1, 15), date(2026, 1, 22))
    r1, r2 = s.installments[:2]
    # 10,000.00 × 18 % × 7/360 = 35.00; principal as regular: 916.80 − 150.00 = 766.80.
    assert (r1.principal, r1.interest, r1.payment) == (D("766.80"), D("35.00"), D("801.80"))
    assert (r2.principal, r2.interest, r2.payment) == (D("778.30"), D("138.50"), D("916.80"))
    assert s.installments[-1].payment == D("916.81")  # the last absorbs rounding (§3.1)


def test_long_first_period_equal_principal_act_365_and_30_360():
    # 12,000.00 at 12 %, principal 1,000.00 a month; first period 01-10 → 02-25.
    ep = build_schedule(D("12000.00"), D("0.12"), 12, Method.EQUAL_PRINCIPAL,
                        date(2026, 1, 10), date(2026, 2, 25), "ACT/365")
    # 46 actual days / 365: 12,000.00 × 0.12 × 46/365 = 181.479… → 181.48.
    assert (ep.installments[0].principal, ep.installments[0].interest) == (
        D("1000.00"), D("181.48"))
    assert ep.installments[1].interest == D("110.00")  # 11,000.00 × 1 %
    thirty = build_schedule(D("12000.00"), D("0.12"), 12, Method.EQUAL_PRINCIPAL,
                            date(2026, 1, 10), date(2026, 2, 25), "30/360")
    # 30E/360: 30 × 1 + (25 − 10) = 45 days: 12,000.00 × 0.12 × 45/360 = 180.00.
    assert thirty.installments[0].interest == D("180.00")


def test_monthly_anniversary_is_regular_and_can_be_forced():
    regular = build_schedule(D("10000.00"), D("0.18"), 12, Method.EQUAL_INSTALLMENT,
                             date(2026, 1, 15), date(2026, 2, 15))
    assert regular.installments[0].interest == D("150.00")
    forced = build_schedule(D("10000.00"), D("0.18"), 12, Method.EQUAL_INSTALLMENT,
                            date(2026, 1, 17), date(2026, 2, 5), regular_first=True)
    assert forced.installments[0].interest == D("150.00")


@settings(max_examples=150, deadline=None)
@given(principal=st.integers(1_000, 5_000_000).map(lambda c: D(c).scaleb(-2)),
       rate=st.integers(0, 2400).map(lambda bp: D(bp).scaleb(-4)),
       term=st.integers(1, 36),
       disbursed=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
       shift=st.integers(-20, 40).filter(lambda n: n != 0),
       method=st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL]),
       basis=st.sampled_from(["ACT/360", "ACT/365"]))
def test_irregular_first_period_changes_only_instalment_one_interest(
        principal, rate, term, disbursed, shift, method, basis):
    first = add_months(disbursed, 1) + timedelta(days=shift)
    if first <= disbursed or first == add_months(disbursed, 1):
        return
    odd = build_schedule(principal, rate, term, method, disbursed, first, basis)
    reg = build_schedule(principal, rate, term, method, disbursed, first, basis,
                         regular_first=True)
    days, year = (first - disbursed).days, 365 if basis == "ACT/365" else 360
    actual = (principal * rate * days / year).quantize(D("0.01"), "ROUND_HALF_UP")
    a, b = odd.installments, reg.installments
    assert a[0].interest == actual
    # instalment 1 = level + (actual-day interest − a regular month's interest)
    assert a[0].payment == b[0].payment + (actual - b[0].interest)
    assert [r.principal for r in a] == [r.principal for r in b]
    assert a[1:] == b[1:]
    assert sum(r.principal for r in a) == principal and a[-1].balance == 0
