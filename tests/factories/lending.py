"""Test data built through the project's own services (no raw fixtures)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from controls.roles import APPROVER
from lending import services
from lending.models import Agreement, AgreementVersion, Program
from partners.models import Partner, PartnerKind


def bank() -> Partner:
    # Created by a data migration; transactional tests flush it, so make it again if needed.
    obj, _ = Partner.objects.get_or_create(
        kind=PartnerKind.BANK, defaults={"code": "BANK", "legal_name": "The Bank"}
    )
    return obj


def partner(code: str, kind: str = PartnerKind.PLATFORM, **extra) -> Partner:
    obj, _ = Partner.objects.get_or_create(
        code=code, defaults={"legal_name": f"{code} Ltd", "kind": kind, **extra}
    )
    return obj


def user(username: str):
    User = get_user_model()
    obj, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    return obj


def approver(username: str):
    """A staff user with the approver role (controls.roles; the groups come by migration)."""
    obj = user(username)
    obj.groups.add(Group.objects.get(name=APPROVER))
    return obj


def active_agreement(
    *,
    code: str,
    platform: Partner,
    bank_ratio: Decimal = Decimal("0.70"),
    effective_from: date = date(2024, 1, 1),
    guarantor: Partner | None = None,
    **terms,
) -> AgreementVersion:
    """An agreement with one approved (ACTIVE) version: the bank and the platform as funders."""
    agreement = Agreement.objects.filter(code=code).first() or services.agreement_create(
        code=code, name=f"{code} agreement", platform=platform, guarantor=guarantor
    )
    version = services.agreement_version_draft(
        agreement=agreement,
        effective_from=effective_from,
        funders=[
            services.FunderTerms(bank(), bank_ratio, terms.pop("bank_rate", None)),
            services.FunderTerms(platform, Decimal("1") - bank_ratio,
                                 terms.pop("platform_rate", None)),
        ],
        created_by=user("maker"),
        **terms,
    )
    return services.agreement_version_approve(version=version, approved_by=approver("checker"))


def program(*, code: str, version: AgreementVersion, **params) -> Program:
    agreement = version.agreement
    params.setdefault("repayment_methods", ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL",
                                            "INTEREST_FIRST", "DAILY"])
    return services.program_create(
        partner=agreement.platform, agreement=agreement, code=code, name=f"{code} program",
        **params,
    )
