"""Agreements (versions under maker-checker) and programs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from controls import four_eyes
from lending.domain.rules import (
    bank_ratio_allowed,
    ratio_rule_message,
)
from lending.models import (
    Agreement,
    AgreementFunder,
    AgreementVersion,
    Program,
    VersionStatus,
)
from lending.services.errors import AgreementError, FourEyesError
from partners.models import Partner, PartnerKind


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


MAX_FUNDERS = 3  # the bank, one other co-funder, the residual owner (see below)


def agreement_terms_check(*, agreement: Agreement, effective_from: date,
                          funders: Sequence[FunderTerms],
                          residual_owner: Partner | None = None) -> None:
    """The terms every version must satisfy, checked at drafting, submission and approval (so
    an edit made after submission cannot slip past them): ratios sum to exactly 1, one funder
    is the bank, and the bank's ratio is within the rule (R1, lending.domain.rules).

    At most MAX_FUNDERS funders, and the residual owner (the platform unless the version names
    another) funds a part of each loan: the accrual split (`lending.domain.split.
    weighted_parts`, and its SQL twin) gives each other funder HALF_UP(amount × weight) and
    the residual owner the rest, which is never of the wrong sign only when at most two
    others round and the residual's weight is not zero (the proof is in its docstring)."""
    if len(funders) > MAX_FUNDERS:
        raise AgreementError(
            f"agreement {agreement.code}: {len(funders)} funders; at most {MAX_FUNDERS} (the "
            "bank, one other co-funder and the residual owner)")
    residual = residual_owner or agreement.platform
    own = [f for f in funders if f.funder.pk == residual.pk]
    if not own or own[0].principal_ratio <= 0:
        raise AgreementError(
            f"agreement {agreement.code}: the residual owner {residual.code} must fund a "
            "part of each loan (a principal ratio above 0)")
    total = sum((f.principal_ratio for f in funders), Decimal("0"))
    if total != 1:
        raise AgreementError(
            f"agreement {agreement.code}: funder principal ratios sum to {total}, not 1"
        )
    bank = [f for f in funders if f.funder.kind == PartnerKind.BANK]
    if len(bank) != 1:
        raise AgreementError(f"agreement {agreement.code}: exactly one funder must be the bank")
    if not bank_ratio_allowed(bank[0].principal_ratio, effective_from):
        raise AgreementError(
            f"agreement {agreement.code}: {ratio_rule_message(bank[0].principal_ratio)}"
        )


def _version_terms_check(version: AgreementVersion) -> None:
    funders = [FunderTerms(af.funder, af.principal_ratio, af.interest_rate)
               for af in version.funders.select_related("funder")]
    agreement_terms_check(agreement=version.agreement, effective_from=version.effective_from,
                          funders=funders, residual_owner=version.residual_owner)


@transaction.atomic
def agreement_version_submit(*, version: AgreementVersion, by) -> AgreementVersion:
    """Submit a draft (or a rejected version, after its edit) for a second person's approval:
    its terms are checked and it is frozen (an edit sends it back to draft)."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status not in (VersionStatus.DRAFT, VersionStatus.REJECTED):
        raise AgreementError(f"{version} is {version.status}; only a draft is submitted")
    _version_terms_check(version)
    version.status = VersionStatus.PENDING_APPROVAL
    version.submitted_at = timezone.now()
    version.editor_ids = four_eyes.editors_with(version.editor_ids, by) if (
        by is not None and version.created_by_id not in (None, by.pk)) else version.editor_ids
    version.rejected_by, version.rejected_at, version.rejection_reason = None, None, ""
    version.save(update_fields=["status", "submitted_at", "editor_ids", "rejected_by",
                                "rejected_at", "rejection_reason"])
    return version


@transaction.atomic
def agreement_version_edited(*, version: AgreementVersion, by) -> AgreementVersion:
    """Someone edited a version's terms: it goes back to draft, its approvals are cleared and
    the editor may not approve it. An ACTIVE or RETIRED version cannot be edited."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status in (VersionStatus.ACTIVE, VersionStatus.RETIRED):
        raise AgreementError(f"{version} is {version.status} and cannot be edited")
    if by is not None and version.created_by_id not in (None, by.pk):
        version.editor_ids = four_eyes.editors_with(version.editor_ids, by)
    version.status = VersionStatus.DRAFT
    version.submitted_at, version.approved_by, version.approved_at = None, None, None
    version.save(update_fields=["status", "submitted_at", "approved_by", "approved_at",
                                "editor_ids"])
    return version


@transaction.atomic
def agreement_version_reject(*, version: AgreementVersion, by, reason: str,
                             require_role: bool = True) -> AgreementVersion:
    """A second person rejects a pending version, with a reason; it can be edited again."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.PENDING_APPROVAL:
        raise AgreementError(f"{version} is {version.status}, not pending approval")
    four_eyes.checker_check(what=str(version), checker=by, maker_id=version.created_by_id,
                            editor_ids=version.editor_ids, require_role=require_role,
                            error=FourEyesError)
    version.rejection_reason = four_eyes.reason_check(what=str(version), reason=reason,
                                                      error=AgreementError)
    version.status = VersionStatus.REJECTED
    version.rejected_by, version.rejected_at = by, timezone.now()
    version.save(update_fields=["status", "rejected_by", "rejected_at", "rejection_reason"])
    return version


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
    agreement_terms_check(agreement=agreement, effective_from=effective_from, funders=funders,
                          residual_owner=residual_owner)
    last = agreement.versions.order_by("-version").values_list("version", flat=True).first()
    version = AgreementVersion.objects.create(
        agreement=agreement,
        version=(last or 0) + 1,
        effective_from=effective_from,
        residual_owner=residual_owner or agreement.platform,
        created_by=created_by,
        status=VersionStatus.PENDING_APPROVAL,  # drafted and submitted in one step
        submitted_at=timezone.now(),
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
def agreement_version_approve(*, version: AgreementVersion, approved_by,
                              require_role: bool = True) -> AgreementVersion:
    """A second person approves a pending version; it becomes ACTIVE and ends the previous one.

    The approver is neither the maker nor anyone who edited the version
    (controls.four_eyes) and holds the approver role — every caller, not only the admin
    (`require_role=False` only where a test proves the other rules alone). The terms are
    checked again, as they are now."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.PENDING_APPROVAL:
        raise AgreementError(f"{version} is {version.status}, not pending approval")
    four_eyes.checker_check(what=str(version), checker=approved_by,
                            maker_id=version.created_by_id, editor_ids=version.editor_ids,
                            require_role=require_role, error=FourEyesError)
    _version_terms_check(version)
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
