"""Every worked number of DOMAIN.md §3 (and the §5/§6/§7 numbers the domain core owns)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from lending.domain import (
    AgingPolicy,
    ClaimScope,
    Component,
    DayCount,
    InterestRule,
    Method,
    OwedItem,
    RiskClass,
    SmaStatus,
    accrue_penalty,
    age,
    allocate,
    blended_rate,
    build_schedule,
    claim_amount,
    claim_trigger_date,
    daily_interest,
    daily_interest_by_funder,
    interest_for_days,
    months_fraction,
    q2,
    split,
    split_interest,
    split_penalty,
    split_principal,
)
from lending.domain.waterfall import PRINCIPAL_FIRST_ORDER

TEN_K = D("10000.00")
RATIO_70_30 = {"bank": D("0.70"), "platform": D("0.30")}


def _loan_18pct():
    return build_schedule(TEN_K, D("0.18"), 12, Method.EQUAL_INSTALLMENT, date(2024, 1, 15))


# --- §3.2 schedules, ¥10,000 / 12 months / 12 % ----------------------------------------------


def test_equal_installment_888_49_times_11_plus_888_47_total_interest_661_86():
    s = build_schedule(TEN_K, D("0.12"), 12, Method.EQUAL_INSTALLMENT, date(2024, 1, 1))
    payments = [r.payment for r in s.installments]
    assert payments[:11] == [D("888.49")] * 11
    assert payments[11] == D("888.47")
    assert s.installments[0].interest == D("100.00")
    assert s.total_interest == D("661.86")
    assert s.total_principal == TEN_K
    assert s.installments[-1].balance == D("0.00")


def test_equal_principal_first_933_33_last_841_70_total_interest_650_00():
    s = build_schedule(TEN_K, D("0.12"), 12, Method.EQUAL_PRINCIPAL, date(2024, 1, 1))
    assert s.installments[0].payment == D("933.33")
    assert [r.principal for r in s.installments[:11]] == [D("833.33")] * 11
    assert s.installments[-1].principal == D("833.37")  # absorbs 0.04
    assert s.installments[-1].payment == D("841.70")
    assert s.total_interest == D("650.00")


def test_interest_first_30_360_is_100_00_a_month_and_10_100_00_at_maturity():
    s = build_schedule(
        TEN_K, D("0.12"), 12, Method.INTEREST_FIRST, date(2024, 1, 31), day_count="30/360"
    )
    assert [r.interest for r in s.installments] == [D("100.00")] * 12
    assert s.installments[-1].payment == D("10100.00")
    assert s.total_interest == D("1200.00")


def test_interest_first_act_360_over_2024_is_1_219_98():
    s = build_schedule(
        TEN_K, D("0.12"), 12, Method.INTEREST_FIRST, date(2024, 1, 1), day_count=DayCount.ACT_360
    )
    assert s.installments[0].interest == D("103.33")  # January, 31 days
    assert s.installments[1].interest == D("96.67")  # February 2024, 29 days
    assert s.total_interest == D("1219.98")


# --- §3.1 the 18 % 70/30 table -----------------------------------------------------------------


def test_18pct_schedule_table_rows_and_total_interest_1_001_61():
    rows = _loan_18pct().installments
    assert rows[0][2:] == (D("766.80"), D("150.00"), D("916.80"), D("9233.20"))
    assert rows[1][2:] == (D("778.30"), D("138.50"), D("916.80"), D("8454.90"))
    assert rows[2][2:] == (D("789.98"), D("126.82"), D("916.80"), D("7664.92"))
    assert rows[11][2:] == (D("903.26"), D("13.55"), D("916.81"), D("0.00"))
    assert _loan_18pct().total_interest == D("1001.61")


def test_18pct_period_1_split_536_76_230_04_and_interest_105_00_45_00():
    first = _loan_18pct().installments[0]
    outstanding = {"bank": D("7000.00"), "platform": D("3000.00")}
    assert split_principal(first.principal, outstanding, "platform") == {
        "bank": D("536.76"),
        "platform": D("230.04"),
    }
    assert split(first.interest, RATIO_70_30, "platform") == {
        "bank": D("105.00"),
        "platform": D("45.00"),
    }


def test_18pct_bank_principal_5_918_43_after_period_2():
    outstanding = {"bank": D("7000.00"), "platform": D("3000.00")}
    for row in _loan_18pct().installments[:2]:
        paid = split_principal(row.principal, outstanding, "platform")
        outstanding = {k: outstanding[k] - paid[k] for k in outstanding}
    assert outstanding == {"bank": D("5918.43"), "platform": D("2536.47")}
    assert sum(outstanding.values()) == D("8454.90")


# --- §3.3 day count and 随借随还 ----------------------------------------------------------------


def test_daily_rate_18pct_over_360_is_0_05pct_and_18_25pct_over_365_days():
    assert interest_for_days(TEN_K, D("0.18"), 1) == D("5.00")
    assert interest_for_days(TEN_K, D("0.18"), 365) == D("1825.00")


def test_weilidai_38_75_30_00_23_25_15_50_7_50():
    # ¥2,500, 500 principal a month, 0.05 %/day, periods of 31/30/31/31/30 days.
    dues = [date(2024, 5, 1), date(2024, 6, 1), date(2024, 7, 1), date(2024, 8, 1)]
    dues += [date(2024, 9, 1), date(2024, 10, 1)]
    moves = [(dues[0], D("2500.00"))] + [(d, D("-500.00")) for d in dues[1:]]
    got = [
        daily_interest(D("0.18"), moves, start + timedelta(days=1), end)
        for start, end in zip(dues, dues[1:], strict=False)
    ]
    assert got == [D("38.75"), D("30.00"), D("23.25"), D("15.50"), D("7.50")]
    assert got[2] != D("23.35")  # the published figure is a typo


def test_daily_draw_and_repay_55_00_split_38_50_16_50():
    d0 = date(2024, 3, 1)
    d10, d30 = d0 + timedelta(days=10), d0 + timedelta(days=30)
    moves = [(d0, D("5000")), (d10, D("-2000")), (d30, D("-3000"))]
    assert daily_interest(D("0.18"), moves, d0, d30) == D("55.00")
    by_funder = daily_interest_by_funder(
        D("0.18"),
        {
            "bank": [(d0, D("3500")), (d10, D("-1400")), (d30, D("-2100"))],
            "platform": [(d0, D("1500")), (d10, D("-600")), (d30, D("-900"))],
        },
        d0,
        d30,
        "platform",
    )
    assert by_funder == {"bank": D("38.50"), "platform": D("16.50")}


# --- §3.4 penalty, waterfall and its split -------------------------------------------------------


def test_penalty_5_92_and_compound_0_95_after_10_days():
    due = date(2024, 4, 15)
    accrued = accrue_penalty(D("789.98"), D("126.82"), D("0.18"), due, due + timedelta(days=10))
    assert accrued.days == 10
    assert accrued.penalty == D("5.92")
    assert accrued.compound == D("0.95")


def _period_3_owed():
    due = date(2024, 4, 15)
    return [
        OwedItem(3, due, Component.PRINCIPAL, D("789.98")),
        OwedItem(3, due, Component.INTEREST, D("126.82")),
        OwedItem(3, due, Component.PENALTY, D("5.92")),
        OwedItem(3, due, Component.COMPOUND, D("0.95")),
    ]


def test_waterfall_500_00_penalty_compound_interest_principal():
    result = allocate(D("500.00"), _period_3_owed())
    assert [(line.component, line.amount) for line in result.lines] == [
        (Component.PENALTY, D("5.92")),
        (Component.COMPOUND, D("0.95")),
        (Component.INTEREST, D("126.82")),
        (Component.PRINCIPAL, D("366.31")),
    ]
    assert D("789.98") - result.by_component()[Component.PRINCIPAL] == D("423.67")
    assert result.overpayment == D("0.00")


def test_waterfall_500_00_principal_first_puts_everything_on_principal():
    result = allocate(D("500.00"), _period_3_owed(), PRINCIPAL_FIRST_ORDER)
    assert result.by_component() == {Component.PRINCIPAL: D("500.00")}


def test_waterfall_500_00_split_70_30():
    alloc = allocate(D("500.00"), _period_3_owed()).by_component()
    outstanding = {"bank": D("5918.43"), "platform": D("2536.47")}
    principal = split_principal(alloc[Component.PRINCIPAL], outstanding, "platform")
    assert principal == {"bank": D("256.42"), "platform": D("109.89")}
    assert split(alloc[Component.INTEREST], RATIO_70_30, "platform") == {
        "bank": D("88.77"),
        "platform": D("38.05"),
    }
    penalty = split_penalty(
        alloc[Component.PENALTY], "PRO_RATA", weights=RATIO_70_30, residual="platform"
    )
    assert penalty == {"bank": D("4.14"), "platform": D("1.78")}
    assert split(alloc[Component.COMPOUND], RATIO_70_30, "platform") == {
        "bank": D("0.67"),
        "platform": D("0.28"),
    }


# --- §3.5 interest split rules ------------------------------------------------------------------


def test_bank_fixed_yield_46_67_and_platform_103_33_as_service_fee():
    result = split_interest(
        D("150.00"),
        InterestRule.BANK_FIXED_YIELD,
        weights=RATIO_70_30,
        residual="platform",
        principal={"bank": D("7000.00")},
        rates={"bank": D("0.08")},
        period=months_fraction(1),
    )
    assert result.shares == {"bank": D("46.67"), "platform": D("103.33")}
    assert result.gross == {"bank": D("105.00"), "platform": D("45.00")}
    assert result.service_fee["bank"] == D("58.33")


def test_blended_rate_10_8pct_and_month_1_900_00_split_600_00_300_00():
    principal = {"bank": D("80000"), "nbfc": D("20000")}
    rates = {"bank": D("0.09"), "nbfc": D("0.18")}
    rate = blended_rate(principal, rates)
    assert rate == D("0.108")
    interest = q2(D("100000") * rate / 12)
    assert interest == D("900.00")
    result = split_interest(
        interest,
        "PER_FUNDER_RATE",
        weights={"bank": D("0.8"), "nbfc": D("0.2")},
        residual="nbfc",
        principal=principal,
        rates=rates,
    )
    assert result.shares == {"bank": D("600.00"), "nbfc": D("300.00")}


# --- §3.6 claim -----------------------------------------------------------------------------------


def test_claim_6_159_75_after_periods_1_2_paid_and_3_5_due():
    rows = _loan_18pct().installments
    outstanding = {"bank": D("7000.00"), "platform": D("3000.00")}
    for row in rows[:2]:
        paid = split_principal(row.principal, outstanding, "platform")
        outstanding = {k: outstanding[k] - paid[k] for k in outstanding}
    due_unpaid_interest = sum((r.interest for r in rows[2:5]), D(0))
    assert due_unpaid_interest == D("344.74")
    bank_interest = split(due_unpaid_interest, RATIO_70_30, "platform")["bank"]
    assert bank_interest == D("241.32")
    claim = claim_amount(principal=outstanding["bank"], due_unpaid_interest=bank_interest)
    assert claim.total == D("6159.75")
    with_penalty = claim_amount(
        principal=outstanding["bank"],
        due_unpaid_interest=bank_interest,
        penalty=D("10.00"),
        compound=D("1.00"),
        scope=ClaimScope.PRINCIPAL_INTEREST_PENALTY,
    )
    assert with_penalty.total == D("6170.75")


def test_claim_triggers_when_period_3_reaches_dpd_80():
    due_3 = _loan_18pct().installments[2].due_on
    trigger = claim_trigger_date(due_3, 80)
    policy = AgingPolicy(claim_trigger_dpd=80)
    assert not age(due_3, trigger - timedelta(days=1), policy).claim_triggered
    assert age(due_3, trigger, policy).dpd == 80
    assert age(due_3, trigger, policy).claim_triggered


# --- §5, §6 and §7 numbers --------------------------------------------------------------------------


def test_daily_accrual_example_bank_voucher_4_55_and_off_balance_0_70():
    daily = [interest_for_days(p, D("0.18"), 1) for p in (D("10000"), D("3000"), D("2000"))]
    assert daily == [D("5.00"), D("1.50"), D("1.00")]
    bank = [split(x, RATIO_70_30, "platform")["bank"] for x in daily]
    assert bank[0] + bank[1] == D("4.55")
    assert bank[2] == D("0.70")


def test_one_cent_penalty_split_70_30_gives_bank_0_01_partner_0_00():
    assert split(D("0.01"), RATIO_70_30, "platform") == {"bank": D("0.01"), "platform": D("0.00")}


def test_india_due_31_mar_sma1_30_apr_sma2_30_may_npa_29_jun():
    policy = AgingPolicy(due_date_is_day_one=True)
    due = date(2025, 3, 31)
    assert age(due, date(2025, 3, 31), policy).dpd == 1
    assert age(due, date(2025, 4, 29), policy).sma == SmaStatus.SMA_0
    assert age(due, date(2025, 4, 30), policy).sma == SmaStatus.SMA_1
    assert age(due, date(2025, 5, 29), policy).sma == SmaStatus.SMA_1
    assert age(due, date(2025, 5, 30), policy).sma == SmaStatus.SMA_2
    assert age(due, date(2025, 6, 28), policy).sma == SmaStatus.SMA_2
    npa = age(due, date(2025, 6, 29), policy)
    assert (npa.dpd, npa.sma, npa.non_accrual) == (91, SmaStatus.NPA, True)


def test_china_non_accrual_at_dpd_91_and_substandard():
    due = date(2024, 1, 31)
    day_90 = age(due, due + timedelta(days=90))
    day_91 = age(due, due + timedelta(days=91))
    assert (day_90.dpd, day_90.non_accrual, day_90.risk_class) == (
        90,
        False,
        RiskClass.SPECIAL_MENTION,
    )
    assert (day_91.dpd, day_91.non_accrual, day_91.risk_class) == (
        91,
        True,
        RiskClass.SUBSTANDARD,
    )
