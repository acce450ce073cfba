"""Agreements, their effective-dated versions (maker-checker) and the funders of each."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from lending.models.amounts import RATE
from partners.models import Partner


class InterestSplitRule(models.TextChoices):
    PRO_RATA = "PRO_RATA", "Pro rata to principal"
    BANK_FIXED_YIELD = "BANK_FIXED_YIELD", "Bank fixed yield, excess to platform as service fee"
    PER_FUNDER_RATE = "PER_FUNDER_RATE", "Each funder its own rate (blended borrower rate)"


class PenaltySplitRule(models.TextChoices):
    PRO_RATA = "PRO_RATA", "Pro rata to principal"
    PLATFORM = "PLATFORM", "All to the platform"
    BANK = "BANK", "All to the bank"


class LossSharingRule(models.TextChoices):
    PRO_RATA = "PRO_RATA", "Each funder bears its own share"
    FIRST_LOSS = "FIRST_LOSS", "Partner/guarantor takes first loss up to a cap"


class Agreement(models.Model):
    """The cooperation agreement with a platform; its terms live in versions."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    platform = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="agreements")
    guarantor = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guaranteed_agreements",
    )
    signed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class VersionStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
    ACTIVE = "ACTIVE", "Active"
    RETIRED = "RETIRED", "Retired"
    REJECTED = "REJECTED", "Rejected"


class AgreementVersion(models.Model):
    """Effective-dated terms of an agreement. Immutable once ACTIVE (database trigger)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    interest_split_rule = models.CharField(
        max_length=20, choices=InterestSplitRule.choices, default=InterestSplitRule.PRO_RATA
    )
    penalty_split_rule = models.CharField(
        max_length=12, choices=PenaltySplitRule.choices, default=PenaltySplitRule.PRO_RATA
    )
    service_fee_rate = models.DecimalField(
        **RATE, default=Decimal("0"), help_text="Annual fee rate the bank pays the platform."
    )
    loss_sharing_rule = models.CharField(
        max_length=12, choices=LossSharingRule.choices, default=LossSharingRule.PRO_RATA
    )
    first_loss_cap_ratio = models.DecimalField(**RATE, default=Decimal("0"))
    guarantee_covers_bank_share = models.BooleanField(
        default=True, help_text="The guarantor pays claims (代偿) on the bank's share."
    )
    residual_owner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Takes the rounding remainder of every split (尾差归合作方 by default).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Four eyes (controls.four_eyes): everyone who edited the terms (none may approve them),
    # when it was submitted, and a rejection with its reason.
    editor_ids = ArrayField(models.BigIntegerField(), default=list, db_default=[], blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["agreement__code", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "version"], name="agreement_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="agreement_version_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["ACTIVE", "RETIRED"]) | Q(approved_by__isnull=False),
                name="agreement_version_active_needs_approval",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="agreement_version_dates",
            ),
            models.CheckConstraint(
                condition=Q(service_fee_rate__gte=0) & Q(first_loss_cap_ratio__gte=0)
                & Q(first_loss_cap_ratio__lte=1),
                name="agreement_version_rates_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.code} v{self.version}"


class AgreementFunder(models.Model):
    """A funder's share of an agreement version. A version's ratios sum to exactly 1."""

    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="funders")
    funder = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    principal_ratio = models.DecimalField(**RATE)
    # BANK_FIXED_YIELD: the bank's yield; PER_FUNDER_RATE: each funder's own rate.
    interest_rate = models.DecimalField(**RATE, null=True, blank=True)

    class Meta:
        ordering = ["version", "funder__code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "funder"], name="agreement_funder_unique"),
            models.CheckConstraint(
                condition=Q(principal_ratio__gt=0) & Q(principal_ratio__lte=1),
                name="agreement_funder_ratio_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version}: {self.funder.code} {self.principal_ratio}"
