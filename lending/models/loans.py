"""Loans (借据), each funder's share with its own balances, and the instalments."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from lending.domain import rules
from lending.models.agreements import AgreementVersion
from lending.models.amounts import MONEY, MONEY_ZERO, RATE, ZERO
from lending.models.programs import Program, RepaymentMethod
from partners.models import Partner

# From this disbursement date the bank may fund at most 70 % of a joint loan (2021 CBIRC notice,
# DOMAIN §1.2); older loans run off under their original ratio.
RATIO_RULE_FROM = rules.RATIO_RULE_FROM.isoformat()  # R1, defined in lending.domain.rules
MAX_BANK_RATIO = rules.MAX_BANK_RATIO

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
    # A write-off ordered by staff (核销 before the program's threshold), set only by the
    # approval of a LOAN_WRITE_OFF request (controls.requests, four eyes); the run of the first
    # business day on or after it writes the loan off.
    write_off_ordered_on = models.DateField(null=True, blank=True)
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
    # Amount × days on earlier bases since the last crystallisation (a grace end changed the
    # base, which is not a rounding point, DOMAIN §8.6): rounded once with what runs since
    # penalty_from when the penalty is crystallised.
    penalty_carry = models.DecimalField(**MONEY_ZERO)
    compound_carry = models.DecimalField(**MONEY_ZERO)
    # The last rounding of penalty / compound, when a repayment made it: the staged repayment
    # and the amount × days it rounded. Reversing that repayment rounds them again once with
    # what ran since, as if it had never been made (DOMAIN §8.3, §8.6).
    round_txn_id = models.BigIntegerField(null=True, blank=True)
    round_penalty_days = models.DecimalField(**MONEY_ZERO)
    round_compound_days = models.DecimalField(**MONEY_ZERO)
    # The last rounding point of penalty (penalty_from moves at a grace end too): each
    # instalment's part of the penalty runs from here (lending.domain.loan_penalty).
    penalty_rounded_on = models.DateField(null=True, blank=True)
    # BANK_FIXED_YIELD: the fee booked on the running period's crystallised pieces, taken back
    # when the period is crystallised anew in one piece (lending.domain.loan_accrual). NULL: not
    # known (a loan mid-period when it began to be kept, until its next billing).
    period_fee = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True,
                                     db_default=Decimal("0.00"))
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
            # the borrower's advance (suspense, DOMAIN §8.8) is never negative: a run that
            # would leave it so fails and rolls back instead of settling
            models.CheckConstraint(condition=Q(overpaid_amount__gte=0),
                                   name="loan_overpaid_not_negative"),
        ]
        indexes = [
            models.Index(fields=["program", "state"], name="loan_program_state"),
            models.Index(fields=["disbursed_on"], name="loan_disbursed_on"),
            # R4, one borrower's outstanding principal (booking and the run): not partial nor
            # covering, so the run's updates of state and balances stay HOT
            models.Index(fields=["partner", "borrower_token"], name="loan_partner_borrower"),
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
    # Its part of the loan's crystallised penalty and compound interest, unpaid and paid: the
    # waterfall pays them with the instalment, oldest instalment first (DOMAIN §8.2,
    # lending.domain.loan_penalty). The loan's shares hold the same unpaid totals by funder.
    penalty_unpaid = models.DecimalField(**MONEY_ZERO)
    penalty_paid = models.DecimalField(**MONEY_ZERO)
    compound_unpaid = models.DecimalField(**MONEY_ZERO)
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
