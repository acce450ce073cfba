"""Programs (合作产品): one platform's product and the parameters its arithmetic needs."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from lending.models.amounts import MONEY, RATE
from partners.models import Partner


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "EQUAL_INSTALLMENT", "Equal instalment (等额本息)"
    EQUAL_PRINCIPAL = "EQUAL_PRINCIPAL", "Equal principal (等额本金)"
    INTEREST_FIRST = "INTEREST_FIRST", "Interest first (先息后本)"
    DAILY = "DAILY", "Borrow and repay any time (随借随还)"


class DayCount(models.TextChoices):
    ACT_360 = "ACT/360", "Actual/360"
    ACT_365 = "ACT/365", "Actual/365"
    THIRTY_360 = "30/360", "30/360"


class Component(models.TextChoices):
    COSTS = "COSTS", "Costs of enforcement"
    FEE = "FEE", "Fee"
    PENALTY = "PENALTY", "Penalty interest (罚息)"
    COMPOUND = "COMPOUND", "Compound interest (复利)"
    INTEREST = "INTEREST", "Interest"
    PRINCIPAL = "PRINCIPAL", "Principal"


DEFAULT_WATERFALL = ["PENALTY", "COMPOUND", "INTEREST", "PRINCIPAL"]


def default_waterfall() -> list[str]:
    return list(DEFAULT_WATERFALL)


def default_methods() -> list[str]:
    return [RepaymentMethod.EQUAL_INSTALLMENT]


class ClaimScope(models.TextChoices):
    PRINCIPAL_INTEREST = "PRINCIPAL_INTEREST", "Principal + interest"
    PRINCIPAL_INTEREST_PENALTY = "PRINCIPAL_INTEREST_PENALTY", "Principal + interest + penalty"


class Program(models.Model):
    """合作产品: one platform's product under one agreement."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="programs")
    agreement = models.ForeignKey("Agreement", on_delete=models.PROTECT, related_name="programs")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="CNY")
    repayment_methods = ArrayField(
        models.CharField(max_length=24, choices=RepaymentMethod.choices), default=default_methods
    )
    min_annual_rate = models.DecimalField(**RATE, default=Decimal("0.0"))
    max_annual_rate = models.DecimalField(**RATE, default=Decimal("0.24"))
    max_principal = models.DecimalField(**MONEY, default=Decimal("200000.00"))
    max_term_months = models.PositiveSmallIntegerField(default=36)
    day_count = models.CharField(max_length=8, choices=DayCount.choices, default=DayCount.ACT_360)
    # 算头不算尾 and the reverse are contractual: by default interest starts the day after
    # disbursement (first day excluded) and the last day counts.
    count_first_day = models.BooleanField(default=False)
    count_last_day = models.BooleanField(default=True)
    penalty_multiplier = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("1.5"))
    grace_days = models.PositiveSmallIntegerField(default=0)
    waterfall_order = ArrayField(
        models.CharField(max_length=12, choices=Component.choices), default=default_waterfall
    )
    claim_trigger_dpd = models.PositiveSmallIntegerField(null=True, blank=True, default=90)
    claim_scope = models.CharField(
        max_length=32, choices=ClaimScope.choices, default=ClaimScope.PRINCIPAL_INTEREST
    )
    non_accrual_dpd = models.PositiveSmallIntegerField(default=90)
    # Five-tier classification (五级分类): the first DPD of each class above NORMAL.
    special_mention_dpd = models.PositiveSmallIntegerField(default=1)
    substandard_dpd = models.PositiveSmallIntegerField(default=91)
    doubtful_dpd = models.PositiveSmallIntegerField(default=181)
    loss_dpd = models.PositiveSmallIntegerField(default=361)
    write_off_dpd = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Automatic write-off (核销) at this DPD; empty: never."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["partner__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "code"], name="program_code_per_partner"),
            models.CheckConstraint(
                condition=Q(min_annual_rate__gte=0) & Q(max_annual_rate__gte=F("min_annual_rate")),
                name="program_rate_bounds",
            ),
            models.CheckConstraint(
                condition=Q(special_mention_dpd__lt=F("substandard_dpd"))
                & Q(substandard_dpd__lt=F("doubtful_dpd"))
                & Q(doubtful_dpd__lt=F("loss_dpd")),
                name="program_class_thresholds_ascending",
            ),
            models.CheckConstraint(
                condition=Q(penalty_multiplier__gte=1), name="program_penalty_multiplier_min"
            ),
            models.CheckConstraint(
                condition=Q(max_term_months__gte=1) & Q(max_term_months__lte=36),
                name="program_max_term_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner.code}/{self.code}"
