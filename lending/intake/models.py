"""Staged rows of accepted partner files, waiting for the settlement run of their date.

One table per kind. A row is here only if it passed every intake check (rows that failed are
in `partners.QuarantinedRow`, stage INTAKE). The settlement run of (partner, business_date)
reads the STAGED rows set-based, applies them, and marks each APPLIED — or QUARANTINED, writing
a `QuarantinedRow` with stage APPLY, when it fails against loan state at apply time.
Rows are never deleted: together with the quarantine they are the record of what was sent.

The borrower reference is stored only as its HMAC token (no personal data).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from partners.models import InboundFile, Partner, QuarantinedRow

__all__ = [
    "StagedRowStatus",
    "StagedLoan",
    "StagedRepayment",
    "StagedReversal",
    "StagedBalance",
    "CorrectionStatus",
    "QuarantineCorrection",
]

MONEY = {"max_digits": 18, "decimal_places": 2}
RATE = {"max_digits": 12, "decimal_places": 8}


class StagedRowStatus(models.TextChoices):
    STAGED = "STAGED", "Staged, waiting for the run"
    APPLIED = "APPLIED", "Applied by the settlement run"
    QUARANTINED = "QUARANTINED", "Quarantined at apply time"


class StagedRow(models.Model):
    # Staged rows are written only by the intake service, set-based, from the registry row it
    # created in the same transaction; parents are never deleted. The foreign keys therefore
    # have no database constraint (a per-row RI trigger doubles the cost of loading a million
    # rows) and no index of their own: (partner, business_date, row_no) is the row's identity
    # and the settlement run's read path (one accepted file per partner, kind and date).
    file = models.ForeignKey(InboundFile, on_delete=models.PROTECT, related_name="+",
                             db_index=False, db_constraint=False)
    row_no = models.BigIntegerField(help_text="Data row number in the file (1 = first).")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    business_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=StagedRowStatus.choices, default=StagedRowStatus.STAGED
    )
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class StagedLoan(StagedRow):
    loan_no = models.CharField(max_length=64)
    program = models.ForeignKey("lending.Program", on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    agreement_version = models.ForeignKey(
        "lending.AgreementVersion", on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False, help_text="The version in force on disbursed_on (resolved at intake).",
    )
    borrower_token = models.CharField(max_length=64)
    principal = models.DecimalField(**MONEY)
    annual_rate = models.DecimalField(**RATE)
    term_months = models.PositiveSmallIntegerField()
    repayment_method = models.CharField(max_length=24)
    disbursed_on = models.DateField()
    first_due_on = models.DateField(null=True, blank=True)
    bank_approval_ref = models.CharField(max_length=64)
    bank_ratio = models.DecimalField(**RATE, help_text="The bank's ratio in the agreement.")
    reported_bank_ratio = models.DecimalField(**RATE, null=True, blank=True)

    class Meta:
        ordering = ["partner_id", "business_date", "file_id", "row_no"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "business_date", "row_no"],
                                    name="staged_loan_row"),
            models.UniqueConstraint(fields=["partner", "loan_no"], name="staged_loan_no"),
        ]
        # Loans accepted but not yet booked by their run (intake's "known loan" check).
        indexes = [models.Index(fields=["partner", "loan_no"], name="staged_loan_pending",
                                condition=models.Q(status="STAGED"))]

    def __str__(self) -> str:
        return f"loan {self.loan_no} ({self.business_date})"


class StagedRepayment(StagedRow):
    txn_no = models.CharField(max_length=64)
    loan_no = models.CharField(max_length=64)
    paid_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    payer = models.CharField(max_length=12)  # BORROWER | GUARANTOR (代偿)
    kind = models.CharField(max_length=12)  # SCHEDULED | PREPAYMENT | PAYOFF
    reported_principal = models.DecimalField(**MONEY, null=True, blank=True)
    reported_interest = models.DecimalField(**MONEY, null=True, blank=True)
    reported_penalty = models.DecimalField(**MONEY, null=True, blank=True)
    reported_fee = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["partner_id", "business_date", "file_id", "row_no"]
        # Rows per (partner, date) are numbered by the intake of the one accepted file, so
        # their numbers are unique by construction (and file_rows_accounted would show a
        # double). The run reads a (partner, date): a file's rows are inserted together, one
        # block after another, so a BRIN index (min/max of partner and date per 32 pages: a few
        # bytes, next to nothing to maintain) finds them; a b-tree, entry by entry, cost about
        # a second per million rows of intake. The transaction number stays unique across the
        # partner's history (b-tree).
        constraints = [
            models.UniqueConstraint(fields=["partner", "txn_no"], name="staged_repayment_txn"),
        ]
        indexes = [BrinIndex(fields=["partner", "business_date"], name="staged_repayment_day",
                             pages_per_range=32, autosummarize=True)]

    def __str__(self) -> str:
        return f"repayment {self.txn_no} ({self.business_date})"


class StagedReversal(StagedRow):
    txn_no = models.CharField(max_length=64)
    reverses_txn_no = models.CharField(max_length=64)
    reversed_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["partner_id", "business_date", "file_id", "row_no"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "business_date", "row_no"],
                                    name="staged_reversal_row"),
            models.UniqueConstraint(fields=["partner", "txn_no"], name="staged_reversal_txn"),
            models.UniqueConstraint(fields=["partner", "reverses_txn_no"],
                                    name="staged_reversal_once"),
        ]

    def __str__(self) -> str:
        return f"reversal {self.txn_no} of {self.reverses_txn_no}"


class StagedBalance(StagedRow):
    loan_no = models.CharField(max_length=64)
    as_of = models.DateField()
    principal_outstanding = models.DecimalField(**MONEY)
    interest_outstanding = models.DecimalField(**MONEY)
    penalty_outstanding = models.DecimalField(**MONEY)
    dpd = models.PositiveIntegerField()
    loan_status = models.CharField(max_length=12)  # the partner's view of the loan state

    class Meta:
        ordering = ["partner_id", "business_date", "file_id", "row_no"]
        # The largest file of the day (every open loan). One accepted file per partner and
        # date, and the intake quarantines a repeated loan_no (DUPLICATE), so rows and loans
        # are unique per day by construction: one (partner, business_date) index, not
        # two unique ones maintained row by row; BRIN as for StagedRepayment.
        indexes = [BrinIndex(fields=["partner", "business_date"], name="staged_balance_day",
                             pages_per_range=32, autosummarize=True)]

    def __str__(self) -> str:
        return f"balance {self.loan_no} {self.as_of}"


# --- Staff corrections of quarantined rows (lending.intake.corrections) ---------------------


class CorrectionStatus(models.TextChoices):
    PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval (four eyes)"
    REJECTED = "REJECTED", "Rejected by the checker"
    QUEUED = "QUEUED", "Staged for the run of its business date"


class QuarantineCorrection(models.Model):
    """A staff correction of a quarantined row, replayed into a later run.

    The quarantined row is never changed (its trigger refuses it): it keeps what the partner
    sent, and links here (`corrections`). The corrected row passed the intake's own row checks
    against `business_date`, the run it is queued for; once queued it is one staged row of the
    kind's table with `file` = the original file and `row_no` = −(this correction's id), so it
    is no row of any file's count (lending.reconciliation.checks counts row_no > 0) and the run
    applies it like any staged row, once (STAGED → APPLIED or QUARANTINED).
    """

    quarantined = models.ForeignKey(QuarantinedRow, on_delete=models.PROTECT,
                                    related_name="corrections")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, help_text="The original file's kind.")
    values = models.JSONField(default=dict, help_text="The corrected fields, by column.")
    line = models.TextField(help_text="The corrected row as CSV, in the contract's column order.")
    note = models.TextField(help_text="Why and from what source the row was corrected.")
    status = models.CharField(max_length=20, choices=CorrectionStatus.choices)
    business_date = models.DateField(
        null=True, blank=True, help_text="The run that applies it (set when it is queued).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    request_id = models.BigIntegerField(
        null=True, blank=True, help_text="The four-eyes change request (a row that moves money).")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    staged_id = models.BigIntegerField(null=True, blank=True,
                                       help_text="The staged row the run applies.")

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["quarantined"], condition=~Q(status="REJECTED"),
                                    name="quarantine_correction_once"),
            models.CheckConstraint(
                condition=~Q(status="QUEUED") | (Q(business_date__isnull=False)
                                                 & Q(staged_id__isnull=False)
                                                 & Q(queued_at__isnull=False)),
                name="quarantine_correction_queued_complete"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("created_by")),
                name="quarantine_correction_four_eyes"),
        ]

    def __str__(self) -> str:
        return f"correction #{self.pk} of quarantined row {self.quarantined_id}"

    @property
    def replay_row_no(self) -> int:
        return -self.pk
