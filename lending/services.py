"""Writes of the lending app: agreements (maker-checker), programs and loan booking.

Every service is keyword-only, atomic and raises a `LendingError` subclass naming what is
wrong. Loan booking is set-based (`loans_book`): the demo loader and the settlement run book
thousands of loans with a handful of statements, never one ORM call per loan.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lending.models import (
    MAX_BANK_RATIO,
    Agreement,
    AgreementFunder,
    AgreementVersion,
    Program,
    VersionStatus,
)
from partners.models import Partner, PartnerKind

RATIO_RULE_DATE = date(2022, 1, 1)


class LendingError(Exception):
    """Base of the lending app's named errors; the API layer turns it into a 4xx answer."""

    code = "LENDING_ERROR"


class AgreementError(LendingError):
    code = "AGREEMENT_INVALID"


class FourEyesError(LendingError):
    """Maker-checker: the person who drafted a change may not approve it."""

    code = "FOUR_EYES"


def borrower_token(*, partner_code: str, borrower_ref: str) -> str:
    """Keyed hash of a partner's borrower reference: the only form in which it is stored."""
    key = settings.BORROWER_HASH_KEY.encode()
    return hmac.new(key, f"{partner_code}:{borrower_ref}".encode(), hashlib.sha256).hexdigest()


# --- Agreements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunderTerms:
    funder: Partner
    principal_ratio: Decimal
    interest_rate: Decimal | None = None


def agreement_create(
    *, code: str, name: str, platform: Partner, guarantor: Partner | None = None,
    signed_on: date | None = None,
) -> Agreement:
    """Create an agreement with a platform (its terms come in versions)."""
    if platform.kind != PartnerKind.PLATFORM:
        raise AgreementError(f"agreement {code}: {platform.code} is not a platform")
    if guarantor is not None and guarantor.kind != PartnerKind.GUARANTOR:
        raise AgreementError(f"agreement {code}: {guarantor.code} is not a licensed guarantor")
    return Agreement.objects.create(
        code=code, name=name, platform=platform, guarantor=guarantor, signed_on=signed_on
    )


@transaction.atomic
def agreement_version_draft(
    *,
    agreement: Agreement,
    effective_from: date,
    funders: Sequence[FunderTerms],
    created_by,
    residual_owner: Partner | None = None,
    **terms,
) -> AgreementVersion:
    """Draft a new version of an agreement's terms with its funders (ratios must sum to 1)."""
    total = sum((f.principal_ratio for f in funders), Decimal("0"))
    if total != 1:
        raise AgreementError(
            f"agreement {agreement.code}: funder principal ratios sum to {total}, not 1"
        )
    bank = [f for f in funders if f.funder.kind == PartnerKind.BANK]
    if len(bank) != 1:
        raise AgreementError(f"agreement {agreement.code}: exactly one funder must be the bank")
    if effective_from >= RATIO_RULE_DATE and bank[0].principal_ratio > MAX_BANK_RATIO:
        raise AgreementError(
            f"agreement {agreement.code}: the bank's principal ratio {bank[0].principal_ratio} "
            f"exceeds {MAX_BANK_RATIO} for loans from {RATIO_RULE_DATE}"
        )
    last = agreement.versions.order_by("-version").values_list("version", flat=True).first()
    version = AgreementVersion.objects.create(
        agreement=agreement,
        version=(last or 0) + 1,
        effective_from=effective_from,
        residual_owner=residual_owner or agreement.platform,
        created_by=created_by,
        status=VersionStatus.PENDING_APPROVAL,
        **terms,
    )
    AgreementFunder.objects.bulk_create(
        AgreementFunder(
            version=version, funder=f.funder, principal_ratio=f.principal_ratio,
            interest_rate=f.interest_rate,
        )
        for f in funders
    )
    return version


@transaction.atomic
def agreement_version_approve(*, version: AgreementVersion, approved_by) -> AgreementVersion:
    """A second person approves a pending version; it becomes ACTIVE and ends the previous one."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.PENDING_APPROVAL:
        raise AgreementError(f"{version} is {version.status}, not pending approval")
    if version.created_by_id is not None and version.created_by_id == approved_by.pk:
        raise FourEyesError(f"{version} was drafted by {approved_by}; another person must approve")
    previous = (
        AgreementVersion.objects.select_for_update()
        .filter(agreement_id=version.agreement_id, status=VersionStatus.ACTIVE)
        .order_by("pk")
    )
    for old in previous:
        if old.effective_from >= version.effective_from:
            raise AgreementError(
                f"{version} starts {version.effective_from}, not after active {old} "
                f"({old.effective_from})"
            )
        if old.effective_to is None or old.effective_to > version.effective_from:
            old.effective_to = version.effective_from
            old.save(update_fields=["effective_to"])
    version.status = VersionStatus.ACTIVE
    version.approved_by = approved_by
    version.approved_at = timezone.now()
    version.save(update_fields=["status", "approved_by", "approved_at"])
    return version


def program_create(*, partner: Partner, agreement: Agreement, code: str, name: str,
                   **params) -> Program:
    """Create a platform's product under one of its agreements."""
    if agreement.platform_id != partner.pk:
        raise AgreementError(f"program {code}: agreement {agreement.code} is not {partner.code}'s")
    return Program.objects.create(partner=partner, agreement=agreement, code=code, name=name,
                                  **params)
