"""Reconciliation breaks: where a partner's figures for a loan differ from ours.

DOMAIN §4.3 (C): the partner's `balances` file against the bank's own sub-ledger. A `Break` is
one difference of one kind (and, for amounts, one field) on one loan, first seen on
`business_date`, seen again up to `last_seen_on` (one OPEN break per loan, kind and field — a
partial unique index), cleared automatically when it no longer differs, or resolved by staff with
a note. Breaks are never deleted: together with their resolution they are the audit trail.
The bank's own recomputation is the book of record, so ours is never changed by a break.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from partners.models import Partner

__all__ = ["BreakKind", "BreakField", "BreakStatus", "Break", "Reconciliation",
           "ReconciliationTolerance"]

MONEY = {"max_digits": 18, "decimal_places": 2}

# An amount difference is "rounding" only up to this: a tolerance beyond one yuan would clear
# real differences (a missed instalment's interest) into the rounding account unseen.
MAX_AMOUNT_TOLERANCE = Decimal("1.00")


class BreakKind(models.TextChoices):
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH", "Amount mismatch"
    MISSING_AT_BANK = "MISSING_AT_BANK", "In the partner's file, not booked at the bank"
    MISSING_AT_PARTNER = "MISSING_AT_PARTNER", "Open at the bank, absent from the partner's file"
    STATUS_MISMATCH = "STATUS_MISMATCH", "Loan status differs"
    DPD_MISMATCH = "DPD_MISMATCH", "Days past due differ"


class BreakField(models.TextChoices):
    NONE = "", "—"
    PRINCIPAL = "PRINCIPAL", "Principal"
    INTEREST = "INTEREST", "Interest"
    PENALTY = "PENALTY", "Penalty + compound interest"


class BreakStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    AUTO_CLEARED = "AUTO_CLEARED", "Auto-cleared"
    RESOLVED = "RESOLVED", "Resolved by staff"
    WRITTEN_OFF = "WRITTEN_OFF", "Written off"


class Break(models.Model):
    """One reconciliation difference on one loan (written by lending.reconciliation.services)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="breaks")
    business_date = models.DateField(help_text="First seen on this business date.")
    last_seen_on = models.DateField(help_text="Latest business date it still differed.")
    loan_no = models.CharField(max_length=64)
    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="breaks")  # indexed: a loan's breaks, FK checks
    kind = models.CharField(max_length=20, choices=BreakKind.choices)
    field = models.CharField(max_length=12, choices=BreakField.choices, blank=True, default="")
    # Rendered as text: an amount, a status or a DPD depending on the kind; empty when absent.
    ours = models.CharField(max_length=32, blank=True)
    theirs = models.CharField(max_length=32, blank=True)
    difference = models.DecimalField(**MONEY, null=True, blank=True,
                                     help_text="Theirs − ours (amount or days); the absent "
                                               "side counts as 0.")
    status = models.CharField(max_length=14, choices=BreakStatus.choices,
                              default=BreakStatus.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    # An amount difference within the program's tolerance: the id of the partner's memo book's
    # rounding entry (per program and day, lending.reconciliation.rounding) that holds it. A
    # plain id, as a statement payment keeps its entry's key: no constraint ties the breaks to
    # the append-only ledger's tables.
    rounding_entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-business_date", "partner_id", "loan_no", "kind", "field"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "loan_no", "kind", "field"],
                                    condition=Q(status="OPEN"), name="break_open_once"),
            models.UniqueConstraint(fields=["partner", "loan_no", "kind", "field",
                                            "business_date"], name="break_first_seen_once"),
            models.CheckConstraint(condition=Q(last_seen_on__gte=models.F("business_date")),
                                   name="break_seen_after_first"),
            models.CheckConstraint(
                condition=Q(status="OPEN")
                | (~Q(resolution_note="") & Q(resolved_at__isnull=False)),
                name="break_closed_has_note",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "status", "business_date"],
                         name="break_partner_status"),
            models.Index(fields=["business_date"], name="break_business_date"),
        ]

    def __str__(self) -> str:
        what = f"{self.kind}/{self.field}" if self.field else self.kind
        return f"{self.partner_id}:{self.loan_no} {what} {self.status}"

    @property
    def age_days(self) -> int:
        """Days from first seen to last seen (an open break's age at the latest reconcile)."""
        return (self.last_seen_on - self.business_date).days


class Reconciliation(models.Model):
    """One reconciliation of a partner's accepted balances file (the latest figures kept).

    Reconciling a balances file applies every row of it that was not quarantined: this record
    is what says so (rows = applied + quarantined, lending.reconciliation.checks), instead of
    rewriting the status of a million staged rows every day. A rerun of the date updates it.
    """

    file = models.OneToOneField("partners.InboundFile", on_delete=models.PROTECT,
                                related_name="reconciliation")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    their_rows = models.PositiveIntegerField(help_text="Rows of the file compared (not "
                                             "quarantined).")
    our_loans = models.PositiveIntegerField(help_text="Our loans booked by the date.")
    differences = models.JSONField(default=dict, help_text="Differences beyond the tolerance "
                                   "found on the date, per kind.")
    within_tolerance = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    seen_again = models.PositiveIntegerField(default=0)
    auto_cleared = models.PositiveIntegerField(default=0)
    reconciled_at = models.DateTimeField()

    class Meta:
        ordering = ["-business_date", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "business_date"],
                                    name="reconciliation_partner_day"),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.partner_id} {self.business_date}"


class ReconciliationTolerance(models.Model):
    """A program's rounding tolerance (尾差容差) for the partner's balances file.

    A per-loan, per-field amount difference up to `amount_tolerance` (inclusive) is rounding:
    its break is AUTO_CLEARED at once and the difference is held in the rounding account
    (lending.reconciliation.rounding). A program without a row has the default
    (lending.reconciliation.services.AMOUNT_TOLERANCE); 0 clears nothing automatically.
    """

    program = models.OneToOneField("lending.Program", on_delete=models.PROTECT,
                                   related_name="reconciliation_tolerance")
    amount_tolerance = models.DecimalField(
        **MONEY, help_text=f"Per loan and field, inclusive; 0 to {MAX_AMOUNT_TOLERANCE}.")
    note = models.TextField(blank=True, help_text="Why this tolerance (e.g. the partner's "
                                                  "interest engine rounds monthly).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_tolerance__gte=0)
                & Q(amount_tolerance__lte=MAX_AMOUNT_TOLERANCE),
                name="recon_tolerance_range"),
        ]

    def __str__(self) -> str:
        return f"tolerance {self.amount_tolerance} for program {self.program_id}"
