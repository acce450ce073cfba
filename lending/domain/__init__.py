"""The loan arithmetic core: pure functions over Decimal, dates and immutable tuples.

No Django, no I/O, no clock (callers pass ``as_of`` / business dates). Amounts are Decimal with
two decimals; rates are annual fractions (0.18 = 18 %). Rounding is ROUND_HALF_UP to the cent at
the contract point: each per-period amount (instalment, period interest, penalty for a period,
each funder's share) is rounded once from unrounded inputs; totals are sums of rounded amounts.

Public API (all importable from ``lending.domain``):

money
    ``q2(x) -> Decimal`` HALF_UP to 0.01; ``CENT``, ``ZERO``; ``DomainError`` (base of all errors).
daycount
    ``DayCount`` (ACT_360 default, ACT_365, THIRTY_360); ``interest_days(start, end, basis,
    include_first=False, include_last=True) -> int``; ``interest_for_days(balance, rate, days,
    basis) -> Decimal``; ``interest_between(balance, rate, start, end, basis, ...) -> Decimal``.
schedule
    ``Method`` (EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_FIRST, DAILY);
    ``build_schedule(principal, annual_rate, term, method, disbursed_on, first_due_on=None,
    day_count=ACT_360) -> Schedule`` (``installments``: tuple of ``Installment(seq, due_on,
    principal, interest, payment, balance)``, ``total_principal``, ``total_interest``,
    ``total_payment``); ``annuity_payment(principal, rate, term) -> Decimal``;
    ``due_dates(first_due_on, term) -> tuple[date, ...]``; ``add_months(day, n) -> date``;
    ``Movement(on, amount)`` (+draw / −repayment); ``daily_interest(rate, movements, from_day,
    to_day, basis, include_first=False, include_last=True) -> Decimal`` (随借随还, rounded once);
    ``daily_interest_unrounded(...) -> Decimal``; ``accrued_interest(period_interest,
    period_start, period_end, as_of) -> Decimal`` (scheduled interest accrued to a day-end).
penalty
    ``penalty_rate(rate, multiplier=1.5) -> Decimal``; ``overdue_days(due_on, as_of,
    grace_days=0, grace_retroactive=False) -> int``; ``penalty_for_days(overdue, rate, days,
    multiplier, basis) -> Decimal``; ``accrue_penalty(overdue_principal, overdue_interest, rate,
    due_on, as_of, ...) -> PenaltyAccrual(days, penalty, compound)``;
    ``multiplier_complies_pboc_251(m) -> bool``.
waterfall
    ``Component`` (COSTS, FEE, PENALTY, COMPOUND, INTEREST, PRINCIPAL); ``DEFAULT_ORDER``
    (costs, fee, penalty, compound, interest, principal); ``CIVIL_CODE_561_ORDER`` /
    ``LEGAL_DEFAULT_ORDER`` (costs, fee, interest, penalty, compound, principal);
    ``PRINCIPAL_FIRST_ORDER``; ``OwedItem(installment, due_on, component, amount)``;
    ``allocate(payment, owed_items, order=DEFAULT_ORDER, prepayable_principal=0,
    by_component=False) -> Allocation(lines, prepaid_principal, overpayment)`` with
    ``lines``: ``AllocationLine(installment, due_on, component, amount)``,
    ``Allocation.by_component() -> dict[Component, Decimal]``, ``Allocation.applied``.
split
    ``split(amount, weights, residual) -> dict[key, Decimal]`` (Σ = amount, none negative,
    independent of listing order); ``split_principal(amount, outstanding, residual) -> dict``
    (by current outstanding; never more than a funder's balance; full repayment clears all);
    ``InterestRule`` (PRO_RATA, BANK_FIXED_YIELD, PER_FUNDER_RATE); ``split_interest(interest,
    rule, weights=, residual=, principal=, rates=, period=) -> InterestSplit(shares, gross,
    service_fee)``; ``PenaltyRule`` (PRO_RATA, SINGLE_FUNDER); ``split_penalty(amount, rule,
    weights=, residual=, beneficiary=) -> dict``; ``blended_rate(principal, rates) -> Decimal``;
    ``YearFraction(num, den)``, ``months_fraction(n)``, ``days_fraction(days, basis)``;
    ``daily_interest_by_funder(rate, movements_by_funder, from_day, to_day, residual, ...)
    -> dict`` (Σ = the borrower's daily interest).
aging
    ``RiskClass`` (NORMAL 正常, SPECIAL_MENTION 关注, SUBSTANDARD 次级, DOUBTFUL 可疑, LOSS 损失);
    ``ClassThresholds``, ``CHINA_DEFAULT_THRESHOLDS``, ``CREDIT_CARD_THRESHOLDS``;
    ``AgingPolicy(due_date_is_day_one, thresholds, non_accrual_after_dpd=90,
    cure_requires_full_arrears=True, claim_trigger_dpd)``; ``oldest_unpaid_due(rows) -> date |
    None``; ``days_past_due(oldest_due, as_of, due_date_is_day_one=False) -> int``;
    ``risk_class(dpd, thresholds, floor=None) -> RiskClass``; ``sma_status(dpd) -> SmaStatus``;
    ``is_non_accrual(dpd, currently_non_accrual=, after_dpd=90, cure_requires_full_arrears=True)
    -> bool``; ``claim_triggered(dpd, trigger) -> bool``; ``claim_trigger_date(oldest_due,
    trigger, ...) -> date``; ``age(oldest_due, as_of, policy, currently_non_accrual=False)
    -> AgingResult(dpd, risk_class, non_accrual, claim_triggered, sma)``.
claim
    ``ClaimScope`` (PRINCIPAL, PRINCIPAL_INTEREST, PRINCIPAL_INTEREST_PENALTY);
    ``claim_amount(principal=, due_unpaid_interest=, penalty=, compound=, scope=)
    -> ClaimAmount(principal, interest, penalty, total)``.
rules
    R1: ``MAX_BANK_RATIO`` (0.70), ``RATIO_RULE_FROM`` (2022-01-01), ``RATIO_RULE_REASON``,
    ``bank_ratio_allowed(ratio, disbursed_on) -> bool``, ``ratio_rule_message(ratio)``.
loan_day (import from ``lending.domain.loan_day``)
    One loan's business day: ``loan_day(LoanState, Terms, day, [Event]) -> DayResult``;
    ``LoanStatus``, ``OPEN_STATES``, ``CLOSED_STATES``, ``NO_PAYMENT_STATES``. Share weights:
    ``lending.domain.weights``; the weight split: ``split.weighted_parts``. Schedules also give
    ``is_regular_first_period`` and ``first_period_interest`` (DOMAIN §8.5).
"""

from .aging import (
    CHINA_DEFAULT_THRESHOLDS,
    CREDIT_CARD_THRESHOLDS,
    NON_PERFORMING,
    AgingError,
    AgingPolicy,
    AgingResult,
    ClassThresholds,
    RiskClass,
    SmaStatus,
    age,
    claim_trigger_date,
    claim_triggered,
    days_past_due,
    is_non_accrual,
    oldest_unpaid_due,
    risk_class,
    sma_status,
)
from .claim import ClaimAmount, ClaimScope, claim_amount
from .daycount import (
    DEFAULT_DAY_COUNT,
    DayCount,
    interest_between,
    interest_days,
    interest_for_days,
    year_days,
)
from .money import CENT, ZERO, DomainError, q2
from .penalty import (
    DEFAULT_PENALTY_MULTIPLIER,
    PenaltyAccrual,
    PenaltyError,
    accrue_penalty,
    multiplier_complies_pboc_251,
    overdue_days,
    penalty_for_days,
    penalty_rate,
)
from .schedule import (
    Installment,
    Method,
    Movement,
    Schedule,
    ScheduleError,
    accrued_interest,
    add_months,
    annuity_payment,
    build_schedule,
    daily_interest,
    daily_interest_unrounded,
    due_dates,
)
from .split import (
    InterestRule,
    InterestSplit,
    PenaltyRule,
    SplitError,
    YearFraction,
    blended_rate,
    daily_interest_by_funder,
    days_fraction,
    months_fraction,
    split,
    split_interest,
    split_penalty,
    split_principal,
)
from .waterfall import (
    CIVIL_CODE_561_ORDER,
    DEFAULT_ORDER,
    LEGAL_DEFAULT_ORDER,
    PRINCIPAL_FIRST_ORDER,
    Allocation,
    AllocationLine,
    Component,
    OwedItem,
    WaterfallError,
    allocate,
)

__all__ = [
    "CENT",
    "CHINA_DEFAULT_THRESHOLDS",
    "CIVIL_CODE_561_ORDER",
    "CREDIT_CARD_THRESHOLDS",
    "DEFAULT_DAY_COUNT",
    "DEFAULT_ORDER",
    "DEFAULT_PENALTY_MULTIPLIER",
    "LEGAL_DEFAULT_ORDER",
    "NON_PERFORMING",
    "PRINCIPAL_FIRST_ORDER",
    "ZERO",
    "AgingError",
    "AgingPolicy",
    "AgingResult",
    "Allocation",
    "AllocationLine",
    "ClaimAmount",
    "ClaimScope",
    "ClassThresholds",
    "Component",
    "DayCount",
    "DomainError",
    "Installment",
    "InterestRule",
    "InterestSplit",
    "Method",
    "Movement",
    "OwedItem",
    "PenaltyAccrual",
    "PenaltyError",
    "PenaltyRule",
    "RiskClass",
    "Schedule",
    "ScheduleError",
    "SmaStatus",
    "SplitError",
    "WaterfallError",
    "YearFraction",
    "accrue_penalty",
    "accrued_interest",
    "add_months",
    "age",
    "allocate",
    "annuity_payment",
    "blended_rate",
    "build_schedule",
    "claim_amount",
    "claim_trigger_date",
    "claim_triggered",
    "daily_interest",
    "daily_interest_by_funder",
    "daily_interest_unrounded",
    "days_fraction",
    "days_past_due",
    "due_dates",
    "interest_between",
    "interest_days",
    "interest_for_days",
    "is_non_accrual",
    "months_fraction",
    "multiplier_complies_pboc_251",
    "oldest_unpaid_due",
    "overdue_days",
    "penalty_for_days",
    "penalty_rate",
    "q2",
    "risk_class",
    "sma_status",
    "split",
    "split_interest",
    "split_penalty",
    "split_principal",
    "year_days",
]
