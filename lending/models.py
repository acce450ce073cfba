"""Lending: programs, agreements, loans and their funder shares.

Design in brief (DESIGN.md §4–§6):
- A `Program` (合作产品) is one platform's product under one `Agreement`; it carries the product
  parameters the arithmetic needs (day count, penalty multiplier, grace, waterfall order, aging
  thresholds, claim and write-off days).
- An `Agreement` has effective-dated `AgreementVersion`s, each with its `AgreementFunder` rows
  (principal ratios summing to exactly 1, enforced by a deferred constraint trigger). A version is
  approved by a second person (maker-checker) and never edited once ACTIVE (a trigger refuses it).
- A `Loan` (借据) snapshots the agreement version and the bank's principal ratio at booking; for a
  loan disbursed from 2022-01-01 the bank's ratio is at most 0.70 (a CHECK constraint).
  The borrower is stored only as a keyed hash (`borrower_token`), never the partner's reference.
- A `LoanShare` per funder per loan tracks that funder's own balances: they are never
  recomputed as ratio × total, because rounding would drift.
- `Installment` rows are the schedule with what has been paid against each component.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from lending.domain import rules
from partners.models import Partner

MONEY = {"max_digits": 18, "decimal_places": 2}
RATE = {"max_digits": 12, "decimal_places": 8}
ZERO = Decimal("0.00")
# An amount that starts at zero, in Python and in the database (db_default: a COPY may omit it).
MONEY_ZERO = {**MONEY, "default": ZERO, "db_default": ZERO}

# From this disbursement date the bank may fund at most 70 % of a joint loan (2021 CBIRC notice,
# DOMAIN §1.2); older loans run off under their original ratio.
RATIO_RULE_FROM = rules.RATIO_RULE_FROM.isoformat()  # R1, defined in lending.domain.rules
MAX_BANK_RATIO = rules.MAX_BANK_RATIO


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


class LoanState(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    OVERDUE = "OVERDUE", "Overdue"
    CLAIMED = "CLAIMED", "Claimed by guarantor (代偿)"
    WRITTEN_OFF = "WRITTEN_OFF", "Written off (核销)"
    PAID_OFF = "PAID_OFF", "Paid off"


class RiskClass(models.TextChoices):
    NORMAL = "NORMAL", "正常 Normal"
    SPECIAL_MENTION = "SPECIAL_MENTION", "关注 Special mention"
    SUBSTANDARD = "SUBSTANDARD", "次级 Substandard"
    DOUBTFUL = "DOUBTFUL", "可疑 Doubtful"
    LOSS = "LOSS", "损失 Loss"


class Loan(models.Model):
    """借据: one loan, its terms snapshot and its loan-level balances (= Σ of its shares)."""

    # No single-column indexes on partner and program: (partner, loan_no) and (program, state)
    # lead with them, and every index is maintained on a million-row daily batch.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="loans",
                                db_index=False)
    loan_no = models.CharField(max_length=64)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="loans",
                                db_index=False)
    agreement_version = models.ForeignKey(
        AgreementVersion, on_delete=models.PROTECT, related_name="loans"
    )
    borrower_token = models.CharField(max_length=64, help_text="HMAC of the borrower reference.")
    principal = models.DecimalField(**MONEY)
    annual_rate = models.DecimalField(**RATE)
    term_months = models.PositiveSmallIntegerField()
    repayment_method = models.CharField(max_length=24, choices=RepaymentMethod.choices)
    disbursed_on = models.DateField()
    first_due_on = models.DateField(null=True, blank=True)
    maturity_on = models.DateField(null=True, blank=True)
    bank_approval_ref = models.CharField(
        max_length=64, help_text="The bank's own credit decision (independent risk control)."
    )
    bank_ratio = models.DecimalField(**RATE, help_text="Bank principal ratio at disbursement.")
    state = models.CharField(max_length=12, choices=LoanState.choices, default=LoanState.ACTIVE)
    dpd = models.PositiveIntegerField(default=0)
    risk_class = models.CharField(
        max_length=16, choices=RiskClass.choices, default=RiskClass.NORMAL
    )
    accruing = models.BooleanField(default=True, help_text="False: non-accrual (非应计).")
    principal_outstanding = models.DecimalField(**MONEY)
    interest_outstanding = models.DecimalField(**MONEY, default=ZERO)
    penalty_outstanding = models.DecimalField(**MONEY, default=ZERO)
    compound_outstanding = models.DecimalField(**MONEY, default=ZERO)
    overpaid_amount = models.DecimalField(
        **MONEY, default=ZERO, help_text="Received beyond what was owed; owed back (suspense)."
    )
    claimed_on = models.DateField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    booked_on = models.DateField(help_text="Business date of the run that booked the loan.")
    # Derivation anchors (DESIGN §6: values that are pure functions of state and date are
    # derived). Interest not yet billed accrues linearly: accrued(D) = HALF_UP(accrual_amount ×
    # (min(D, accrual_to) − accrual_from) / (accrual_to − accrual_from)). Penalty accrues on
    # penalty_base (overdue principal) and compound on compound_base (overdue interest) from
    # penalty_from. The settlement engine moves the anchors when it crystallises at an event.
    accrual_from = models.DateField(null=True, blank=True)
    accrual_to = models.DateField(null=True, blank=True)
    accrual_amount = models.DecimalField(max_digits=24, decimal_places=10, default=ZERO,
                                         db_default=ZERO)
    billed_seq = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Instalments up to this number have been billed (fallen due)."
    )
    penalty_from = models.DateField(null=True, blank=True)
    penalty_base = models.DecimalField(**MONEY_ZERO)
    compound_base = models.DecimalField(**MONEY_ZERO)
    oldest_unpaid_due_on = models.DateField(null=True, blank=True)
    next_penalty_on = models.DateField(
        null=True, blank=True, help_text="When the next billed instalment enters the penalty base."
    )
    claim_raised_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["partner_id", "loan_no"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "loan_no"], name="loan_no_per_partner"),
            models.CheckConstraint(
                condition=Q(disbursed_on__lt=RATIO_RULE_FROM) | Q(bank_ratio__lte=MAX_BANK_RATIO),
                name="loan_bank_ratio_max_70pct_from_2022",
            ),
            models.CheckConstraint(
                condition=Q(bank_ratio__gte=0) & Q(bank_ratio__lte=1), name="loan_bank_ratio_range"
            ),
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(principal_outstanding__gte=0)
                & Q(principal_outstanding__lte=F("principal")),
                name="loan_principal_outstanding_range",
            ),
            models.CheckConstraint(
                condition=Q(borrower_token__regex=r"^[0-9a-f]{64}$"),
                name="loan_borrower_token_is_hash",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0) & Q(annual_rate__lt=1), name="loan_rate_range"
            ),
        ]
        indexes = [
            models.Index(fields=["program", "state"], name="loan_program_state"),
            models.Index(fields=["disbursed_on"], name="loan_disbursed_on"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.code}:{self.loan_no}"


class LoanShare(models.Model):
    """One funder's share of one loan, with its own balances (never ratio × total)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="shares",
                             db_index=False)  # (loan, funder) is unique: that index serves
    funder = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="loan_shares")
    ratio = models.DecimalField(**RATE)
    interest_rate = models.DecimalField(
        **RATE, null=True, blank=True, help_text="Own rate under PER_FUNDER_RATE / fixed yield."
    )
    funded_principal = models.DecimalField(**MONEY)
    principal_outstanding = models.DecimalField(**MONEY)
    interest_outstanding = models.DecimalField(**MONEY_ZERO)
    penalty_outstanding = models.DecimalField(**MONEY_ZERO)
    compound_outstanding = models.DecimalField(**MONEY_ZERO)
    claimed_amount = models.DecimalField(**MONEY_ZERO)
    written_off_amount = models.DecimalField(**MONEY_ZERO)
    recovered_amount = models.DecimalField(**MONEY_ZERO)
    # This funder's part of every accrual-related split: HALF_UP(amount × weight) for the
    # non-residual funders, the rest to the residual one (the agreement's residual owner).
    accrual_weight = models.DecimalField(max_digits=16, decimal_places=12, default=ZERO,
                                         db_default=ZERO)
    penalty_weight = models.DecimalField(max_digits=16, decimal_places=12, default=ZERO,
                                         db_default=ZERO)
    is_residual = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["loan_id", "funder_id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "funder"], name="loan_share_unique"),
            models.CheckConstraint(
                condition=Q(ratio__gte=0) & Q(ratio__lte=1), name="loan_share_ratio_range"
            ),
            models.CheckConstraint(
                condition=Q(principal_outstanding__gte=0)
                & Q(principal_outstanding__lte=F("funded_principal")),
                name="loan_share_principal_range",
            ),
            models.CheckConstraint(
                condition=Q(interest_outstanding__gte=0)
                & Q(penalty_outstanding__gte=0)
                & Q(compound_outstanding__gte=0),
                name="loan_share_balances_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan} {self.funder.code}"


class InstallmentStatus(models.TextChoices):
    PENDING = "PENDING", "Not yet due"
    DUE = "DUE", "Due"
    OVERDUE = "OVERDUE", "Overdue"
    PAID = "PAID", "Paid"


class Installment(models.Model):
    """A schedule row and what has been paid against each of its components."""

    # (loan, seq) is unique: that index serves. No database FK constraint: a day books some
    # 360,000 instalments and PostgreSQL checks a deferred FK row by row at commit (measured:
    # 6 µs a row, 0.4 s of every 2,500-loan book chunk). Instalments are written only by
    # `services.loans_book`, in the transaction that creates their loans; a loan that has
    # instalments cannot be deleted (trigger lending_loan_keeps_installments, migration 0018).
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="installments",
                             db_index=False, db_constraint=False)
    seq = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    principal_due = models.DecimalField(**MONEY)
    interest_due = models.DecimalField(**MONEY)
    # What has been paid starts at zero in the database too (db_default): the booking COPY
    # sends only the five columns a new schedule row has (loan, seq, due date, principal,
    # interest), not seven constants per row — about 1.3 s of CPU per 360,000 instalments.
    principal_paid = models.DecimalField(**MONEY_ZERO)
    interest_paid = models.DecimalField(**MONEY_ZERO)
    penalty_accrued = models.DecimalField(**MONEY_ZERO)
    penalty_paid = models.DecimalField(**MONEY_ZERO)
    compound_accrued = models.DecimalField(**MONEY_ZERO)
    compound_paid = models.DecimalField(**MONEY_ZERO)
    status = models.CharField(
        max_length=8, choices=InstallmentStatus.choices, default=InstallmentStatus.PENDING,
        db_default=InstallmentStatus.PENDING,
    )
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "seq"], name="installment_seq_unique"),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0) & Q(principal_paid__lte=F("principal_due")),
                name="installment_principal_paid_range",
            ),
            models.CheckConstraint(
                condition=Q(interest_paid__gte=0) & Q(interest_paid__lte=F("interest_due")),
                name="installment_interest_paid_range",
            ),
            models.CheckConstraint(
                condition=Q(principal_due__gte=0) & Q(interest_due__gte=0),
                name="installment_amounts_non_negative",
            ),
        ]
        # No (due_on, status) index: the run finds what falls due through the loan's anchors
        # (billed_seq, accrual_to), and the index made every payment's status change a non-HOT
        # update of a table that grows by a quarter of a million rows a day.

    def __str__(self) -> str:
        return f"{self.loan} #{self.seq} {self.due_on}"

    @property
    def principal_unpaid(self) -> Decimal:
        return self.principal_due - self.principal_paid
from lending.intake.models import *  # noqa: E402,F401,F403
from lending.reconciliation.models import *  # noqa: E402,F401,F403
from lending.settlement.models import *  # noqa: E402,F401,F403
