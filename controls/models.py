"""Controls: the permission holder, the generic four-eyes change request, the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from controls.roles import CONTROL_PERMISSIONS
from lending.models import Statement
from partners.models import Partner


class Control(models.Model):
    """No table: holds the custom permissions of the roles (controls.roles)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = CONTROL_PERMISSIONS

    def __str__(self) -> str:
        return "controls"


class RequestStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
    APPROVED = "APPROVED", "Approved (applied)"
    REJECTED = "REJECTED", "Rejected"


class RequestKind(models.TextChoices):
    PROGRAM_CHANGE = "PROGRAM_CHANGE", "Program change"
    BREAK_WRITE_OFF = "BREAK_WRITE_OFF", "Break write-off"
    PARTNER_STATUS = "PARTNER_STATUS", "Partner status change"
    MANUAL_JOURNAL = "MANUAL_JOURNAL", "Manual journal entry"
    PAYMENT_RELEASE = "PAYMENT_RELEASE", "Settlement payment release"
    LOAN_WRITE_OFF = "LOAN_WRITE_OFF", "Loan write-off (核销)"
    ROW_CORRECTION = "ROW_CORRECTION", "Quarantined row correction (replayed)"
    LIMIT_THRESHOLD = "LIMIT_THRESHOLD", "Limit threshold (from a date)"
    LIMIT_BANK_FIGURE = "LIMIT_BANK_FIGURE", "Bank figure for the limits (from a date)"


class ChangeRequest(models.Model):
    """A change that takes effect only when a second person with the approver role approves it
    (controls.four_eyes). `payload` says what to do; `controls.requests` applies it."""

    kind = models.CharField(max_length=20, choices=RequestKind.choices)
    target_id = models.BigIntegerField(
        help_text="The program, break, partner, statement, loan or limit row the request is "
                  "about (0: none, e.g. a manual journal, or a new limit row).")
    payload = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True, help_text="Why: shown to the approver.")
    status = models.CharField(max_length=20, choices=RequestStatus.choices,
                              default=RequestStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    editor_ids = ArrayField(models.BigIntegerField(), default=list, blank=True,
                            help_text="Everyone who edited it: none of them may approve it.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    applied_result = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("created_by")),
                name="change_request_four_eyes"),
            models.CheckConstraint(
                condition=~Q(status="REJECTED") | ~Q(rejection_reason=""),
                name="change_request_rejection_reason"),
            models.CheckConstraint(
                condition=~Q(status__in=["APPROVED", "REJECTED"]) | Q(decided_by__isnull=False),
                name="change_request_decided_by"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class PaymentRelease(models.Model):
    """A day's settlement payment with one counterparty (its statement's net amount), released
    for payment: made only by the approval of a `PAYMENT_RELEASE` request by a second person
    (controls.requests), once per statement. Append-only: the application's database role
    may insert and read it, never change or delete it (controls.db_roles)."""

    statement = models.OneToOneField(Statement, on_delete=models.PROTECT,
                                     related_name="payment_release")
    amount = models.DecimalField(max_digits=18, decimal_places=2,
                                 help_text="+ the counterparty pays the bank; − the bank pays.")
    currency = models.CharField(max_length=3)
    request = models.OneToOneField(ChangeRequest, on_delete=models.PROTECT,
                                   related_name="payment_release")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(released_by=F("requested_by")),
                                   name="payment_release_four_eyes"),
            models.CheckConstraint(condition=~Q(amount=0), name="payment_release_not_zero"),
        ]

    def __str__(self) -> str:
        return f"release of {self.statement} ({self.amount} {self.currency})"


# --- The audit trail (django-pghistory: database triggers, so raw SQL is recorded too) ---------
# This app's own models are tracked here; other apps' models through proxies in
# controls.audit_trail (loaded with these models, controls.apps). Each event row is the row
# after an insert or update, or before a delete; the context says who and where.

def audit_trackers():  # new ones per model: a tracker learns its model's fields
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


pghistory.track(*audit_trackers(), model_name="ChangeRequestEvent")(ChangeRequest)
pghistory.track(*audit_trackers(), model_name="PaymentReleaseEvent")(PaymentRelease)


# --- Regulatory limits (issue 21, DOMAIN §1.2): effective-dated thresholds and bank figures ----
# The value in force on a date is the row with the latest effective_from on or before it
# (controls.limits). Every model here is named like a limit: the risk role edits them
# (controls.roles), the auditor reads them, the audit trail records every change.

class LimitCode(models.TextChoices):
    PARTNER_CAPITAL = "PARTNER_CAPITAL", ("R2: bank's joint-loan balance with one partner and its "
                                          "related parties / net tier-1 capital")
    JOINT_TOTAL = "JOINT_TOTAL", "R3: bank's joint-loan balance with all partners / total loans"
    BORROWER = "BORROWER", "R4: one borrower's outstanding principal (amount)"
    ALL_IN_COST = "ALL_IN_COST", "R5: a program's all-in annualised cost (rate)"


class LimitThreshold(models.Model):
    """One limit's threshold from a date on: a fraction (0.25 = 25 %) for R2, R3 and R5, an
    amount for R4. A warning is raised at `warning_level` × threshold, a breach above it."""

    code = models.CharField(max_length=20, choices=LimitCode.choices)
    threshold = models.DecimalField(max_digits=18, decimal_places=4)
    warning_level = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.9000"),
        help_text="Fraction of the threshold at which a warning is raised (0.90 = 90 %).")
    effective_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"],
                                    name="limit_threshold_once_per_day"),
            models.CheckConstraint(condition=Q(threshold__gt=0), name="limit_threshold_positive"),
            models.CheckConstraint(condition=Q(warning_level__gt=0) & Q(warning_level__lte=1),
                                   name="limit_threshold_warning_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.threshold} from {self.effective_from}"


class BankFigure(models.TextChoices):
    NET_TIER1_CAPITAL = "NET_TIER1_CAPITAL", "Net tier-1 capital"
    TOTAL_LOANS = "TOTAL_LOANS", "Total loans (all the bank's loans, not only internet loans)"


class LimitBankFigure(models.Model):
    """A figure of the bank's that staff enter, in force from a date on (the R2 and R3
    denominators)."""

    figure = models.CharField(max_length=20, choices=BankFigure.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    effective_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["figure", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["figure", "effective_from"],
                                    name="limit_bank_figure_once_per_day"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="limit_bank_figure_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.figure} {self.amount} from {self.effective_from}"


class LimitRelatedPartyGroup(models.Model):
    """Partners that are related parties of one another: R2 counts them as one."""

    name = models.CharField(max_length=100, unique=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LimitRelatedParty(models.Model):
    """A partner's membership of a related-party group: at most one group per partner."""

    group = models.ForeignKey(LimitRelatedPartyGroup, on_delete=models.CASCADE,
                              related_name="members")
    partner = models.OneToOneField(Partner, on_delete=models.PROTECT,
                                   related_name="related_party")

    class Meta:
        ordering = ["group", "partner__code"]

    def __str__(self) -> str:
        return f"{self.partner} in {self.group}"


for _limit_model in (LimitThreshold, LimitBankFigure, LimitRelatedPartyGroup, LimitRelatedParty):
    pghistory.track(*audit_trackers(), model_name=f"{_limit_model.__name__}Event")(_limit_model)
