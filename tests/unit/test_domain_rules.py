"""Edge cases and conventions of the domain core that the worked examples do not cover."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from lending.domain import (
    CIVIL_CODE_561_ORDER,
    CREDIT_CARD_THRESHOLDS,
    AgingPolicy,
    Component,
    DayCount,
    DomainError,
    InterestRule,
    Method,
    OwedItem,
    RiskClass,
    ScheduleError,
    SplitError,
    WaterfallError,
    add_months,
    age,
    allocate,
    annuity_payment,
    build_schedule,
    daily_interest,
    days_past_due,
    due_dates,
    interest_days,
    is_non_accrual,
    months_fraction,
    multiplier_complies_pboc_251,
    oldest_unpaid_due,
    overdue_days,
    penalty_rate,
    risk_class,
    split,
    split_interest,
    split_penalty,
    split_principal,
)

# --- dates and day count ---------------------------------------------------------------------


def test_month_end_first_due_keeps_month_end():
    assert due_dates(date(2024, 1, 31), 4) == (
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    )
    assert due_dates(date(2024, 1, 30), 3) == (
        date(2024, 1, 30),
        date(2024, 2, 29),
        date(2024, 3, 30),
    )
    assert add_months(date(2024, 2, 29), 1) == date(2024, 3, 31)


def test_interest_day_inclusion_parameters():
    start, end = date(2024, 1, 1), date(2024, 1, 31)
    assert interest_days(start, end) == 30  # 算尾不算头: first day excluded, last included
    assert interest_days(start, end, include_first=True, include_last=False) == 30
    assert interest_days(start, end, include_first=True) == 31
    assert interest_days(start, end, include_last=False) == 29
    assert interest_days(date(2024, 1, 31), date(2024, 2, 29), DayCount.THIRTY_360) == 29
    assert interest_days(date(2024, 1, 15), date(2024, 2, 15), "30/360") == 30
    with pytest.raises(DomainError):
        interest_days(end, start)


def test_act_365_uses_365_in_leap_years():
    s = build_schedule(
        D("10000.00"), D("0.12"), 12, Method.INTEREST_FIRST, date(2024, 1, 1), day_count="ACT/365"
    )
    assert s.total_interest == sum(r.interest for r in s.installments)
    assert s.installments[0].interest == D("101.92")  # 10,000 × 12 % × 31 / 365


def test_interest_first_broken_first_period_30_360():
    s = build_schedule(
        D("10000.00"),
        D("0.12"),
        3,
        Method.INTEREST_FIRST,
        date(2024, 1, 10),
        first_due_on=date(2024, 2, 25),
        day_count="30/360",
    )
    assert [r.interest for r in s.installments] == [D("150.00"), D("100.00"), D("100.00")]


def test_schedule_rejects_bad_input():
    with pytest.raises(ScheduleError):
        build_schedule(D("100.00"), D("0.12"), 0, Method.EQUAL_INSTALLMENT, date(2024, 1, 1))
    with pytest.raises(ScheduleError):
        build_schedule(D("100.001"), D("0.12"), 3, Method.EQUAL_INSTALLMENT, date(2024, 1, 1))
    with pytest.raises(ScheduleError):
        build_schedule(D("100.00"), D("0.12"), 3, Method.DAILY, date(2024, 1, 1))
    with pytest.raises(ScheduleError):
        build_schedule(
            D("100.00"), D("0.12"), 3, "EQUAL_INSTALLMENT", date(2024, 1, 1), date(2024, 1, 1)
        )
    with pytest.raises(ValueError):
        build_schedule(D("100.00"), D("0.12"), 3, "BALLOON", date(2024, 1, 1))


def test_zero_rate_annuity_and_tiny_loans_still_amortize_to_zero():
    assert annuity_payment(D("100.00"), D("0"), 3) == D("33.33")
    for method in (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL):
        s = build_schedule(D("0.05"), D("0.36"), 36, method, date(2024, 1, 1))
        assert s.total_principal == D("0.05") and s.installments[-1].balance == 0
        assert all(r.principal >= 0 for r in s.installments)


def test_daily_interest_rejects_over_repayment_and_30_360():
    d = date(2024, 1, 1)
    with pytest.raises(ScheduleError):
        daily_interest(D("0.18"), [(d, D("100")), (d, D("-101"))], d, d)
    with pytest.raises(ScheduleError):
        daily_interest(D("0.18"), [(d, D("100"))], d, d, "30/360")


# --- penalty ------------------------------------------------------------------------------------


def test_penalty_grace_days():
    due = date(2024, 3, 1)
    assert overdue_days(due, date(2024, 3, 1)) == 0
    assert overdue_days(due, date(2024, 3, 2)) == 1
    assert overdue_days(due, date(2024, 3, 4), grace_days=3) == 0
    assert overdue_days(due, date(2024, 3, 6), grace_days=3) == 2
    assert overdue_days(due, date(2024, 3, 6), grace_days=3, grace_retroactive=True) == 5


def test_penalty_rate_and_pboc_251_range():
    assert penalty_rate(D("0.18")) == D("0.270")
    assert multiplier_complies_pboc_251(D("1.3")) and multiplier_complies_pboc_251(D("1.5"))
    assert not multiplier_complies_pboc_251(D("1.6"))


# --- waterfall -----------------------------------------------------------------------------------


def _owed():
    d1, d2 = date(2024, 2, 1), date(2024, 3, 1)
    return [
        OwedItem(2, d2, Component.INTEREST, D("10.00")),
        OwedItem(2, d2, Component.PRINCIPAL, D("100.00")),
        OwedItem(1, d1, Component.PENALTY, D("1.00")),
        OwedItem(1, d1, Component.INTEREST, D("10.00")),
        OwedItem(1, d1, Component.PRINCIPAL, D("100.00")),
    ]


def test_oldest_instalment_first_then_current_then_prepaid_then_overpayment():
    result = allocate(D("300.00"), _owed(), prepayable_principal=D("50.00"))
    assert [(x.installment, x.component) for x in result.lines] == [
        (1, Component.PENALTY),
        (1, Component.INTEREST),
        (1, Component.PRINCIPAL),
        (2, Component.INTEREST),
        (2, Component.PRINCIPAL),
    ]
    assert result.prepaid_principal == D("50.00")
    assert result.overpayment == D("29.00")


def test_without_prepayment_the_surplus_is_an_overpayment_not_principal():
    result = allocate(D("300.00"), _owed())
    assert result.prepaid_principal == 0 and result.overpayment == D("79.00")


def test_component_major_order_takes_all_interest_before_any_principal():
    result = allocate(D("121.00"), _owed(), by_component=True)
    assert result.by_component() == {
        Component.PENALTY: D("1.00"),
        Component.INTEREST: D("20.00"),
        Component.PRINCIPAL: D("100.00"),
    }
    assert result.lines[-1].installment == 1


def test_civil_code_561_order_costs_then_interest_then_principal():
    d = date(2024, 2, 1)
    owed = [
        OwedItem(1, d, Component.PRINCIPAL, D("50")),
        OwedItem(1, d, Component.INTEREST, D("5")),
        OwedItem(1, d, Component.COSTS, D("3")),
    ]
    result = allocate(D("7"), owed, CIVIL_CODE_561_ORDER)
    assert [(x.component, x.amount) for x in result.lines] == [
        (Component.COSTS, D("3")),
        (Component.INTEREST, D("4")),
    ]


def test_waterfall_errors_are_named():
    with pytest.raises(WaterfallError):
        allocate(D("-1"), _owed())
    with pytest.raises(WaterfallError):
        allocate(D("1"), _owed(), (Component.INTEREST, Component.PRINCIPAL))  # penalty missing
    with pytest.raises(WaterfallError):
        allocate(D("1"), _owed(), (Component.INTEREST, Component.INTEREST))


# --- split -----------------------------------------------------------------------------------------


def test_one_cent_among_three_funders():
    thirds = {"a": D("1"), "b": D("1"), "platform": D("1")}
    assert split(D("0.01"), thirds, "platform") == {
        "a": D("0.00"),
        "b": D("0.00"),
        "platform": D("0.01"),
    }


def test_rounding_up_non_residuals_beyond_the_amount_gives_back_a_cent():
    weights = {"a": D("0.5"), "b": D("0.5"), "platform": D("0")}
    assert split(D("0.01"), weights, "platform") == {
        "a": D("0.00"),
        "b": D("0.01"),
        "platform": D("0.00"),
    }
    weights = {"a": D("0.35"), "b": D("0.35"), "platform": D("0.30")}
    parts = split(D("0.01"), weights, "platform")
    assert sum(parts.values()) == D("0.01") and min(parts.values()) == 0


def test_principal_split_never_gives_the_residual_more_than_it_has():
    outstanding = {"a": D("0.03"), "b": D("0.03"), "c": D("0.03"), "platform": D("0.00")}
    parts = split_principal(D("0.04"), outstanding, "platform")
    assert parts["platform"] == 0 and sum(parts.values()) == D("0.04")
    assert all(parts[k] <= outstanding[k] for k in parts)


def test_split_errors():
    with pytest.raises(SplitError):
        split(D("1.00"), {"a": D("1")}, "platform")
    with pytest.raises(SplitError):
        split(D("1.00"), {"a": D("0"), "platform": D("0")}, "platform")
    with pytest.raises(SplitError):
        split_principal(D("2.00"), {"a": D("1.00"), "platform": D("0.50")}, "platform")
    with pytest.raises(DomainError):
        split(D("1.001"), {"a": D("1"), "platform": D("1")}, "platform")


def test_fixed_yield_above_the_borrower_interest_goes_to_the_bank_only():
    result = split_interest(
        D("40.00"),
        InterestRule.BANK_FIXED_YIELD,
        weights={"bank": D("0.7"), "platform": D("0.3")},
        residual="platform",
        principal={"bank": D("7000.00")},
        rates={"bank": D("0.08")},
        period=months_fraction(),
    )
    assert result.shares == {"bank": D("40.00"), "platform": D("0.00")}
    assert result.service_fee["bank"] == D("-12.00")  # gross 28.00, earns 40.00


def test_penalty_to_a_single_funder():
    weights = {"bank": D("0.7"), "platform": D("0.3")}
    assert split_penalty(
        D("5.92"), "SINGLE_FUNDER", weights=weights, residual="platform", beneficiary="platform"
    ) == {"bank": D("0.00"), "platform": D("5.92")}
    with pytest.raises(SplitError):
        split_penalty(D("1.00"), "SINGLE_FUNDER", weights=weights, residual="platform")


# --- aging -------------------------------------------------------------------------------------------


def test_dpd_from_the_oldest_unpaid_due_date():
    rows = [(date(2024, 3, 1), D("0")), (date(2024, 4, 1), D("10")), (date(2024, 5, 1), D("5"))]
    oldest = oldest_unpaid_due(rows)
    assert oldest == date(2024, 4, 1)
    assert days_past_due(oldest, date(2024, 4, 1)) == 0
    assert days_past_due(oldest, date(2024, 4, 2)) == 1
    assert days_past_due(oldest, date(2024, 4, 1), due_date_is_day_one=True) == 1
    assert days_past_due(None, date(2024, 4, 2)) == 0


def test_five_tier_classes_and_floor():
    assert [risk_class(d) for d in (0, 1, 90, 91, 270, 271, 360, 361)] == [
        RiskClass.NORMAL,
        RiskClass.SPECIAL_MENTION,
        RiskClass.SPECIAL_MENTION,
        RiskClass.SUBSTANDARD,
        RiskClass.SUBSTANDARD,
        RiskClass.DOUBTFUL,
        RiskClass.DOUBTFUL,
        RiskClass.LOSS,
    ]
    assert risk_class(121, CREDIT_CARD_THRESHOLDS) == RiskClass.DOUBTFUL
    assert risk_class(181, CREDIT_CARD_THRESHOLDS) == RiskClass.LOSS
    assert risk_class(0, floor=RiskClass.SUBSTANDARD) == RiskClass.SUBSTANDARD
    assert risk_class(400, floor=RiskClass.SUBSTANDARD) == RiskClass.LOSS


def test_non_accrual_reverses_only_when_arrears_are_cleared():
    assert is_non_accrual(91, currently_non_accrual=False)
    assert not is_non_accrual(90, currently_non_accrual=False)
    assert is_non_accrual(40, currently_non_accrual=True)  # cured 95 → 40: still non-accrual
    assert not is_non_accrual(0, currently_non_accrual=True)
    assert not is_non_accrual(40, currently_non_accrual=True, cure_requires_full_arrears=False)
    policy = AgingPolicy(non_accrual_after_dpd=60)
    assert age(date(2024, 1, 1), date(2024, 3, 2), policy).non_accrual  # DPD 61


def test_fixed_yield_with_the_platform_funding_nothing_gives_it_the_excess():
    result = split_interest(
        D("150.00"),
        InterestRule.BANK_FIXED_YIELD,
        weights={"bank": D("1"), "platform": D("0")},
        residual="platform",
        principal={"bank": D("10000.00")},
        rates={"bank": D("0.08")},
        period=months_fraction(),
    )
    assert result.shares == {"bank": D("66.67"), "platform": D("83.33")}
