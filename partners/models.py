"""Partners: the counterparties of joint lending and what they send us.

Every party that funds, originates or guarantees a loan is a `Partner` — the bank itself
included (exactly one partner of kind BANK, created by a migration), so that every funder share
of a loan points at a Partner. The inbound-file envelope (registry, quarantine) lives here too;
`lending` validates and stages file content, `partners` never imports `lending`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PartnerKind(models.TextChoices):
    BANK = "BANK", "Bank (ourselves)"
    PLATFORM = "PLATFORM", "Platform (助贷/联合贷 partner)"
    CO_FUNDER = "CO_FUNDER", "Co-funding lender"
    GUARANTOR = "GUARANTOR", "Guarantor / insurer (增信)"


class PartnerStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    SUSPENDED = "SUSPENDED", "Suspended"
    TERMINATED = "TERMINATED", "Terminated"


class FileEncoding(models.TextChoices):
    UTF8 = "utf-8", "UTF-8"
    GB18030 = "gb18030", "GB18030 (GBK)"


class Partner(models.Model):
    code = models.CharField(
        max_length=32, unique=True, help_text="Short upper-case code used in file names."
    )
    legal_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PartnerKind.choices)
    status = models.CharField(
        max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE
    )
    file_encoding = models.CharField(
        max_length=16, choices=FileEncoding.choices, default=FileEncoding.UTF8
    )
    related_party_group = models.CharField(
        max_length=64,
        blank=True,
        help_text="Partners in one group count together for the 25% concentration limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind="BANK"), name="partner_single_bank"
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9_]{2,32}$"), name="partner_code_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"

    @property
    def is_bank(self) -> bool:
        return self.kind == PartnerKind.BANK


# --- Partner users and API keys -------------------------------------------------------------


class PartnerUser(models.Model):
    """Ties a Django user to the one partner it acts for on the partner API."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner_link"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="users")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner__code", "user__username"]

    def __str__(self) -> str:
        return f"{self.partner.code}:{self.user}"


class PartnerApiKey(models.Model):
    """An API key of a partner user. Only its SHA-256 is stored; the key is shown once."""

    partner_user = models.ForeignKey(PartnerUser, on_delete=models.PROTECT, related_name="keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "partner API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.partner_user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Inbound files: registry and quarantine ----------------------------------------------------


class FileKind(models.TextChoices):
    LOANS = "loans", "Loans"
    REPAYMENTS = "repayments", "Repayments"
    REVERSALS = "reversals", "Reversals"
    BALANCES = "balances", "Balances"


class InboundFileStatus(models.TextChoices):
    ACCEPTED = "ACCEPTED", "Accepted"
    REJECTED = "REJECTED", "Rejected (whole file)"
    DUPLICATE = "DUPLICATE", "Resend of an accepted file (no-op)"


class Channel(models.TextChoices):
    COMMAND = "COMMAND", "Management command"
    API = "API", "Partner API"


class InboundFile(models.Model):
    """One arrival of a partner data file (with its control file), whatever its fate.

    At most one ACCEPTED file per partner, kind and business date; rejections and resends are
    recorded too, so the registry is the full history of what was sent and what we said.
    """

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_files",
        help_text="Empty when the file named an unknown partner.",
    )
    partner_code = models.CharField(max_length=64, blank=True, help_text="As named by the file.")
    kind = models.CharField(max_length=16, blank=True)
    business_date = models.DateField(null=True, blank=True)
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=12, choices=InboundFileStatus.choices)
    rows = models.BigIntegerField(null=True, blank=True, help_text="Data rows (control file).")
    amount_total = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    staged_count = models.BigIntegerField(default=0)
    staged_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    quarantined_count = models.BigIntegerField(default=0)
    quarantined_amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    reasons = models.JSONField(default=dict, blank=True, help_text="Quarantine count per code.")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_by_label = models.CharField(max_length=150, blank=True, help_text="Key or OS user.")
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "kind", "business_date"],
                condition=Q(status="ACCEPTED"),
                name="inbound_file_one_accepted",
            ),
            models.CheckConstraint(
                condition=~Q(status="ACCEPTED")
                | (Q(partner__isnull=False) & Q(business_date__isnull=False)),
                name="inbound_file_accepted_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "business_date"], name="inbound_file_partner_date"),
            models.Index(fields=["sha256"], name="inbound_file_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.status}]"


class ReasonCode(models.TextChoices):
    MISSING_FIELD = "MISSING_FIELD", "Missing field"
    BAD_AMOUNT = "BAD_AMOUNT", "Bad amount"
    BAD_RATE = "BAD_RATE", "Bad rate"
    BAD_DATE = "BAD_DATE", "Bad date"
    BAD_VALUE = "BAD_VALUE", "Bad value"
    UNKNOWN_PROGRAM = "UNKNOWN_PROGRAM", "Unknown program"
    UNKNOWN_LOAN = "UNKNOWN_LOAN", "Unknown loan"
    DUPLICATE = "DUPLICATE", "Duplicate"
    FUTURE_DATE = "FUTURE_DATE", "Date after the business date"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED", "Program limit exceeded"
    RATIO_MISMATCH = "RATIO_MISMATCH", "Bank ratio differs from the agreement"
    LOAN_CLOSED = "LOAN_CLOSED", "Loan closed"
    NOT_REVERSIBLE = "NOT_REVERSIBLE", "Not reversible"


class QuarantineStage(models.TextChoices):
    INTAKE = "INTAKE", "Intake (file import)"
    APPLY = "APPLY", "Apply (settlement run)"


class QuarantinedRow(models.Model):
    """A row of an accepted file that was not applied, and why. Never edited or deleted
    (a database trigger refuses it); staff only record a resolution."""

    file = models.ForeignKey(InboundFile, on_delete=models.PROTECT, related_name="quarantined")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    row_no = models.BigIntegerField(help_text="Data row number, 1 = first row after the header.")
    column = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=ReasonCode.choices)
    message = models.TextField()
    raw = models.TextField(help_text="The row as CSV (borrower_ref replaced by its token).")
    amount = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True,
        help_text="The row's main amount when it parses (counted in the control total).",
    )
    stage = models.CharField(
        max_length=8, choices=QuarantineStage.choices, default=QuarantineStage.INTAKE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["file_id", "row_no"]
        constraints = [
            models.UniqueConstraint(fields=["file", "row_no", "stage"], name="quarantine_row_once"),
            models.CheckConstraint(
                condition=Q(resolved=False) | (~Q(resolution_note="") & Q(resolved_at__isnull=False)),
                name="quarantine_resolution_has_note",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "business_date"], name="quarantine_partner_date"),
            models.Index(fields=["reason"], name="quarantine_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.file.name}#{self.row_no} {self.reason}"


# --- The bank's business calendar ------------------------------------------------------------


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "HOLIDAY", "Public holiday (not a business day)"
    WORKDAY = "WORKDAY", "Make-up working day (调休上班: a business day on a weekend)"


class CalendarDay(models.Model):
    """An exception to the weekly rule (Monday–Friday are business days, Saturday and Sunday
    are not): a public holiday on a weekday, or a make-up working day on a weekend (调休).

    The calendar is the bank's, the same for every partner; `partners.calendar` answers every
    question about it. Staff edit it in the admin; 2026 was loaded by a data migration."""

    day = models.DateField(primary_key=True)
    kind = models.CharField(max_length=8, choices=CalendarDayKind.choices)
    name = models.CharField(max_length=100, help_text="E.g. 国庆节 / National Day.")

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.name}"
