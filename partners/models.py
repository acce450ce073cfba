"""Partners: the counterparties of joint lending and what they send us.

Every party that funds, originates or guarantees a loan is a `Partner` — the bank itself
included (exactly one partner of kind BANK, created by a migration), so that every funder share
of a loan points at a Partner. The inbound-file envelope (registry, quarantine) lives here too;
`lending` validates and stages file content, `partners` never imports `lending`.
"""

from __future__ import annotations

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
