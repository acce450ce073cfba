"""Aging: days past due, five-tier class (五级分类), India SMA/NPA, non-accrual, claim trigger.

DPD runs from the oldest unpaid due date, evaluated at the day-end of ``as_of``. China default:
the day after the due date is DPD 1. India mode (R18, ``due_date_is_day_one``): the due date
itself is overdue day 1, so due 31 Mar → SMA-1 at 30 Apr, SMA-2 at 30 May, NPA at 29 Jun.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .money import DomainError


class AgingError(DomainError):
    """Invalid aging parameters."""


class RiskClass(StrEnum):
    NORMAL = "NORMAL"  # 正常
    SPECIAL_MENTION = "SPECIAL_MENTION"  # 关注
    SUBSTANDARD = "SUBSTANDARD"  # 次级
    DOUBTFUL = "DOUBTFUL"  # 可疑
    LOSS = "LOSS"  # 损失


RISK_CLASS_ORDER: tuple[RiskClass, ...] = tuple(RiskClass)
NON_PERFORMING: frozenset[RiskClass] = frozenset(
    {RiskClass.SUBSTANDARD, RiskClass.DOUBTFUL, RiskClass.LOSS}  # 不良
)


class ClassThresholds(NamedTuple):
    """The first DPD of each class below 正常 (NORMAL below ``special_mention``)."""

    special_mention: int = 1
    substandard: int = 91
    doubtful: int = 271
    loss: int = 361


# 2023 risk-classification measures as recalled in DOMAIN §5 (>90, >270, >360) [unverified].
CHINA_DEFAULT_THRESHOLDS = ClassThresholds()
# Credit-card rules Art. 92: 1–90 关注, 91–120 次级, 121–180 可疑, >180 损失.
CREDIT_CARD_THRESHOLDS = ClassThresholds(1, 91, 121, 181)


class SmaStatus(StrEnum):
    STANDARD = "STANDARD"
    SMA_0 = "SMA-0"
    SMA_1 = "SMA-1"
    SMA_2 = "SMA-2"
    NPA = "NPA"


@dataclass(frozen=True, slots=True)
class AgingPolicy:
    """Per program: DPD convention, class thresholds, non-accrual and claim trigger."""

    due_date_is_day_one: bool = False
    thresholds: ClassThresholds = CHINA_DEFAULT_THRESHOLDS
    non_accrual_after_dpd: int = 90  # non-accrual from DPD 91 (R16)
    # R16: back to accrual only when all arrears are cleared. False: as soon as the DPD is back
    # at or below the threshold (DOMAIN §7 edge case 4 reads that way).
    cure_requires_full_arrears: bool = True
    claim_trigger_dpd: int | None = None  # 代偿 trigger, e.g. 80; None: no guarantor


class AgingResult(NamedTuple):
    dpd: int
    risk_class: RiskClass
    non_accrual: bool
    claim_triggered: bool
    sma: SmaStatus


def oldest_unpaid_due(installments: Iterable[tuple[date, Decimal]]) -> date | None:
    """Earliest due date among (due_on, amount still unpaid) with an unpaid amount > 0."""
    oldest: date | None = None
    for due_on, unpaid in installments:
        if unpaid > 0 and (oldest is None or due_on < oldest):
            oldest = due_on
    return oldest


def days_past_due(
    oldest_unpaid_due_on: date | None, as_of: date, *, due_date_is_day_one: bool = False
) -> int:
    """Days past due at the day-end of ``as_of``; 0 if nothing unpaid is due."""
    if oldest_unpaid_due_on is None:
        return 0
    days = (as_of - oldest_unpaid_due_on).days + (1 if due_date_is_day_one else 0)
    return days if days > 0 else 0


def risk_class(
    dpd: int,
    thresholds: ClassThresholds = CHINA_DEFAULT_THRESHOLDS,
    floor: RiskClass | None = None,
) -> RiskClass:
    """Five-tier class from DPD; ``floor`` (a manual or judgemental class) can only worsen it."""
    if not (
        0
        < thresholds.special_mention
        <= thresholds.substandard
        <= thresholds.doubtful
        <= thresholds.loss
    ):
        raise AgingError(f"class thresholds must be positive and ascending: {thresholds}")
    if dpd >= thresholds.loss:
        by_dpd = RiskClass.LOSS
    elif dpd >= thresholds.doubtful:
        by_dpd = RiskClass.DOUBTFUL
    elif dpd >= thresholds.substandard:
        by_dpd = RiskClass.SUBSTANDARD
    elif dpd >= thresholds.special_mention:
        by_dpd = RiskClass.SPECIAL_MENTION
    else:
        by_dpd = RiskClass.NORMAL
    if floor is not None and RISK_CLASS_ORDER.index(floor) > RISK_CLASS_ORDER.index(by_dpd):
        return floor
    return by_dpd


def sma_status(dpd: int) -> SmaStatus:
    """RBI: SMA-0 up to 30 days, SMA-1 31–60, SMA-2 61–90, NPA beyond 90."""
    if dpd <= 0:
        return SmaStatus.STANDARD
    if dpd <= 30:
        return SmaStatus.SMA_0
    if dpd <= 60:
        return SmaStatus.SMA_1
    if dpd <= 90:
        return SmaStatus.SMA_2
    return SmaStatus.NPA


def is_non_accrual(
    dpd: int,
    *,
    currently_non_accrual: bool,
    after_dpd: int = 90,
    cure_requires_full_arrears: bool = True,
) -> bool:
    """The accrual switch (非应计) at day-end: on beyond ``after_dpd``; off when cured."""
    if dpd > after_dpd:
        return True
    if not currently_non_accrual:
        return False
    if cure_requires_full_arrears:
        return dpd > 0
    return False


def claim_triggered(dpd: int, trigger_dpd: int | None) -> bool:
    """Whether a guarantor claim (代偿) is due: DPD has reached the trigger."""
    return trigger_dpd is not None and dpd >= trigger_dpd


def claim_trigger_date(
    oldest_unpaid_due_on: date, trigger_dpd: int, *, due_date_is_day_one: bool = False
) -> date:
    """The day on whose day-end the DPD reaches ``trigger_dpd``."""
    if trigger_dpd < 1:
        raise AgingError("claim trigger DPD must be at least 1")
    return oldest_unpaid_due_on + timedelta(days=trigger_dpd - (1 if due_date_is_day_one else 0))


def age(
    oldest_unpaid_due_on: date | None,
    as_of: date,
    policy: AgingPolicy = AgingPolicy(),  # noqa: B008 - frozen, immutable default
    *,
    currently_non_accrual: bool = False,
    floor: RiskClass | None = None,
) -> AgingResult:
    """Day-end aging of one loan under ``policy``."""
    dpd = days_past_due(oldest_unpaid_due_on, as_of, due_date_is_day_one=policy.due_date_is_day_one)
    return AgingResult(
        dpd,
        risk_class(dpd, policy.thresholds, floor),
        is_non_accrual(
            dpd,
            currently_non_accrual=currently_non_accrual,
            after_dpd=policy.non_accrual_after_dpd,
            cure_requires_full_arrears=policy.cure_requires_full_arrears,
        ),
        claim_triggered(dpd, policy.claim_trigger_dpd),
        sma_status(dpd),
    )
