"""Settlement run, its chunks, the per-loan sub-ledger movements, claims and statements."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from partners.models import Partner

__all__ = [
    "RunState", "SettlementRun", "RunChunk", "RunEvent", "MovementEvent", "Movement", "ClaimStatus",
    "Claim", "StatementStatus", "Statement", "StatementLine", "PaymentSource", "StatementPayment",
    "AlertReason", "Alert",
]

MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 2}  # DecimalField(**MONEY)


class RunState(models.TextChoices):
    PENDING = "PENDING", "Pending"
    WAITING = "WAITING", "Waiting for files (intake gate)"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class SettlementRun(models.Model):
    """One partner's settlement of one business date. Rerunnable; chunks record progress."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="runs")
    business_date = models.DateField()
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.PENDING)
    step = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    totals = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-business_date", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "business_date"], name="run_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.code} {self.business_date} {self.state}"


class RunChunk(models.Model):
    """A balanced loan-id range of one step of a run; `done_at` set in the chunk's transaction."""

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="chunks")
    step = models.CharField(max_length=16)
    seq = models.PositiveIntegerField()
    lo_id = models.BigIntegerField()
    hi_id = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    ms = models.PositiveIntegerField(default=0)
    # Set by the orchestrator each time it sends the chunk to the workers: a chunk without a
    # done mark whose last dispatch is older than SETTLEMENT_STALL_SECONDS (and no other chunk of
    # the run finished since) is sent again — dispatches > 1 is a re-dispatch.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatches = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run_id", "step", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "step", "seq"], name="run_chunk_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.step}#{self.seq} [{self.lo_id}, {self.hi_id}]"


class RunEvent(models.Model):
    """A staged repayment or reversal of a run with the loan it falls on, resolved once when the
    run plans its chunks (loan_no → loan id), so that each chunk finds its events by loan-id
    range with one index scan instead of joining the day's whole file to the loans again."""

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    loan_id = models.BigIntegerField()
    kind = models.CharField(max_length=1)  # R: lending_stagedrepayment, V: lending_stagedreversal
    staged_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["run", "loan_id"], name="run_event_loan")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.kind}{self.staged_id} loan {self.loan_id}"


class MovementEvent(models.TextChoices):
    DISBURSE = "DISBURSE", "Disbursement"
    COLLECT = "COLLECT", "Collection from the borrower"
    SUSPENSE_APPLY = "SUSPENSE_APPLY", "Overpayment applied to a due instalment"
    OVERPAY = "OVERPAY", "Overpayment to suspense"
    REFUND = "REFUND", "Advance refunded to the borrower at closing (DOMAIN §8.8)"
    CLAIM = "CLAIM", "Claim paid by the guarantor (代偿), bank share transferred"
    CLAIM_IN = "CLAIM_IN", "Claim transferred in (guarantor's position)"
    TRANSFER_OUT = "TRANSFER_OUT", "Bank share closed by a claim: rest moved to guarantor"
    TRANSFER_IN = "TRANSFER_IN", "Taken over from the bank's closed share"
    RECOVERY = "RECOVERY", "Recovery after claim, routed to the guarantor"
    SUSP_RECOVERY = "SUSP_RECOVERY", "Suspense paying the guarantor's share after a claim"
    CLAIM_EXCESS = "CLAIM_EXCESS", "Guarantor money beyond the bank's share, owed back"
    FEE = "FEE", "Service fee to the platform (fixed bank yield)"
    WRITE_OFF = "WRITE_OFF", "Write-off (核销)"
    WO_RECOVERY = "WO_RECOVERY", "Recovery after write-off"


class Movement(models.Model):
    """The sub-ledger: one funder's change of one component of one loan, from one event.

    Batch journal lines are Σ of these (per date, program, event, component, funder book);
    every line drills down to its loans through (business_date, program, event, component).
    A reversal writes the original rows negated, with `reversal` set.
    """

    # Written only by the run's chunks (COPY), from the loans and shares they loaded in the same
    # transaction, and never updated or deleted: the references carry no database constraint
    # (a deferred per-row RI check on each of ~150,000 rows a day cost seconds at COMMIT),
    # like the staging tables' (lending.intake.models).
    business_date = models.DateField()
    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="+",
                            db_index=False, db_constraint=False)
    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, related_name="movements",
                             db_index=False, db_constraint=False)
    program_id = models.BigIntegerField()
    funder = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+",
                               db_index=False, db_constraint=False)
    event = models.CharField(max_length=16, choices=MovementEvent.choices)
    component = models.CharField(max_length=12)
    amount = models.DecimalField(**MONEY)
    installment_seq = models.PositiveSmallIntegerField(null=True, blank=True)
    txn_id = models.BigIntegerField(null=True, blank=True, help_text="Staged repayment id.")
    reversal = models.BooleanField(default=False)
    accruing = models.BooleanField(default=True)

    class Meta:
        ordering = ["business_date", "loan_id", "id"]
        indexes = [
            models.Index(fields=["business_date", "program_id", "event"], name="movement_post"),
            models.Index(fields=["txn_id"], name="movement_txn",
                         condition=Q(txn_id__isnull=False)),
            models.Index(fields=["loan", "business_date"], name="movement_loan"),
        ]

    def __str__(self) -> str:
        return f"{self.business_date} {self.loan_id} {self.event} {self.component} {self.amount}"


class LoanSnapshot(models.Model):
    """A loan's state at the start of a business day on which a repayment of it was applied
    (lending.domain.loan_snapshot): what reversing that repayment later rebuilds the loan from,
    replaying the days since without it (DOMAIN §8.3). Written by the run's chunks (COPY) with
    their movements, never updated; no database constraint on the reference, like Movement."""

    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, related_name="+",
                             db_index=False, db_constraint=False)
    business_date = models.DateField()
    state = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "business_date"],
                                               name="loan_snapshot_per_day")]
        # written day by day: a BRIN index finds the days the retention deletes
        indexes = [BrinIndex(fields=["business_date"], name="loan_snapshot_day_brin")]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.business_date}"


class ClaimStatus(models.TextChoices):
    RAISED = "RAISED", "Raised with the guarantor"
    PAID = "PAID", "Paid by the guarantor"


class Claim(models.Model):
    """代偿: raised when a loan reaches the program's claim-trigger DPD; paid by the guarantor."""

    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, related_name="claims")
    guarantor = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="claims")
    raised_on = models.DateField()
    principal = models.DecimalField(**MONEY)
    interest = models.DecimalField(**MONEY)
    penalty = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=8, choices=ClaimStatus.choices,
                              default=ClaimStatus.RAISED)
    paid_on = models.DateField(null=True, blank=True)
    paid_amount = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["raised_on", "loan_id"]
        constraints = [models.UniqueConstraint(fields=["loan"], name="claim_per_loan")]

    def __str__(self) -> str:
        return f"claim {self.loan_id} {self.amount} {self.status}"


class StatementStatus(models.TextChoices):
    """The life of a statement (lending.settlement.statements)."""

    PROVISIONAL = "PROVISIONAL", "Provisional (its run is not DONE)"
    ISSUED = "ISSUED", "Issued to the counterparty"
    CONFIRMED = "CONFIRMED", "Confirmed by the counterparty"
    DISPUTED = "DISPUTED", "Disputed by the counterparty"
    PAID = "PAID", "Paid"


class Statement(models.Model):
    """Net settlement with one counterparty for one platform's run of a business date (may be
    negative). A counterparty that serves several platforms (a guarantor) gets one statement
    per platform and day (DOMAIN.md §8.10): each run writes only its own statements, and
    `lending.settlement.selectors.statement_day_totals` adds them up per day.

    Provisional until its run is DONE: partners see only statements of DONE runs. Its life
    (lending.settlement.statements): PROVISIONAL → ISSUED when the run is DONE (with its due
    date and payment reference) → CONFIRMED or DISPUTED by the counterparty → PAID when the
    recorded payments (`StatementPayment`) cover its net amount."""

    counterparty = models.ForeignKey(Partner, on_delete=models.PROTECT,
                                     related_name="statements")
    business_date = models.DateField()
    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="statements")
    net_amount = models.DecimalField(**MONEY, help_text="+ the counterparty pays the bank.")
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=12, choices=StatementStatus.choices,
                              default=StatementStatus.PROVISIONAL)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True,
                                help_text="business_date + SETTLEMENT_PAYMENT_DAYS business days")
    payment_reference = models.CharField(
        max_length=64, blank=True,
        help_text="ST-<counterparty>-<yyyymmdd>-<id>: quoted on the payment (set at issue).")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    disputed_at = models.DateTimeField(null=True, blank=True)
    disputed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    dispute_reason = models.TextField(blank=True)
    paid_on = models.DateField(null=True, blank=True,
                               help_text="Value date of the payment that completed it.")

    class Meta:
        ordering = ["-business_date", "counterparty_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "counterparty"],
                                    name="statement_per_run_counterparty"),
            models.UniqueConstraint(fields=["payment_reference"],
                                    condition=~Q(payment_reference=""),
                                    name="statement_payment_reference_unique"),
            models.CheckConstraint(
                condition=Q(status="PROVISIONAL") | (~Q(payment_reference="")
                                                     & Q(due_date__isnull=False)),
                name="statement_issued_has_reference_and_due_date"),
            models.CheckConstraint(condition=~Q(status="DISPUTED") | ~Q(dispute_reason=""),
                                   name="statement_dispute_has_reason"),
        ]
        indexes = [models.Index(fields=["counterparty", "business_date"],
                                name="statement_counterparty_day"),
                   models.Index(fields=["status", "due_date"], name="statement_status_due")]

    def __str__(self) -> str:
        return f"{self.counterparty.code} {self.business_date} {self.net_amount}"

    @property
    def provisional(self) -> bool:
        """Its run is not DONE: staff see it marked so, partners do not see it."""
        return self.run.state != RunState.DONE


class StatementLine(models.Model):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    line_type = models.CharField(max_length=32)
    program_id = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["statement_id", "line_type", "program_id"]

    def __str__(self) -> str:
        return f"{self.line_type} {self.amount}"


class PaymentSource(models.TextChoices):
    STAFF = "STAFF", "Recorded by finance staff"
    BANK_STATEMENT = "BANK_STATEMENT", "Imported from the bank statement"


class StatementPayment(models.Model):
    """Cash that settled (part of) a statement, signed like its net amount: + the counterparty
    paid the bank, − the bank paid the counterparty. Recording it posts the cash in BANK_GL
    against the statement's due-to / due-from balances (lending.settlement.statements).
    Never changed or deleted: a wrong payment is corrected by staff through a manual journal."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="payments")
    reference = models.CharField(max_length=64, help_text="As quoted on the bank transfer.")
    value_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="CNY")
    source = models.CharField(max_length=16, choices=PaymentSource.choices)
    bank_line_id = models.CharField(
        max_length=64, blank=True,
        help_text="The bank statement line's id: a line is imported once.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    journal_entry_key = models.CharField(max_length=200, blank=True,
                                         help_text="Idempotency key of the cash entry.")

    class Meta:
        ordering = ["statement_id", "value_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["bank_line_id"], condition=~Q(bank_line_id=""),
                                    name="statement_payment_bank_line"),
            models.CheckConstraint(condition=~Q(amount=0), name="statement_payment_not_zero"),
            models.CheckConstraint(
                condition=Q(source="STAFF") | ~Q(bank_line_id=""),
                name="statement_payment_bank_line_id"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.value_date} {self.amount}"


class AlertReason(models.TextChoices):
    FILES_MISSING = "FILES_MISSING", "Files still missing after the cut-off"
    RUN_FAILED = "RUN_FAILED", "Settlement run failed"
    LIMIT_BREACH = "LIMIT_BREACH", "Regulatory limit breached"
    PAYMENT_OVERDUE = "PAYMENT_OVERDUE", "Statement unpaid after its due date"


class Alert(models.Model):
    """Something an operator must act on, raised once per (reason, partner, date): a mail to
    ADMINS, an ERROR log record and a banner on the run list until acknowledged."""

    key = models.CharField(max_length=120, unique=True,
                           help_text="reason:partner:date — the same alert is never raised twice.")
    reason = models.CharField(max_length=16, choices=AlertReason.choices)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="alerts")
    business_date = models.DateField()
    run = models.ForeignKey(SettlementRun, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="alerts")
    message = models.TextField()
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.partner.code} {self.business_date}"
