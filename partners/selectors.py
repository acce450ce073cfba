"""Reads of the partners app. Every partner-facing read is scoped by the partner."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from partners.models import (
    InboundFile,
    InboundFileStatus,
    Partner,
    PartnerUser,
    QuarantinedRow,
)


def partner_get_by_code(*, code: str) -> Partner | None:
    return Partner.objects.filter(code=code).first()


def partner_of_user(*, user) -> Partner | None:
    """The partner a user acts for on the partner API (None for staff without a link)."""
    if user is None or not user.is_authenticated:
        return None
    link = (
        PartnerUser.objects.select_related("partner")
        .filter(user=user, active=True)
        .first()
    )
    return link.partner if link else None


def inbound_file_accepted_get(*, partner: Partner, kind: str, business_date: date):
    return InboundFile.objects.filter(
        partner=partner, kind=kind, business_date=business_date,
        status=InboundFileStatus.ACCEPTED,
    ).first()


def inbound_file_list(*, partner: Partner, kind: str | None = None,
                      business_date: date | None = None, date_from: date | None = None,
                      date_to: date | None = None) -> QuerySet[InboundFile]:
    qs = InboundFile.objects.filter(partner=partner).order_by("-received_at", "-id")
    if kind:
        qs = qs.filter(kind=kind)
    if business_date:
        qs = qs.filter(business_date=business_date)
    if date_from:
        qs = qs.filter(business_date__gte=date_from)
    if date_to:
        qs = qs.filter(business_date__lte=date_to)
    return qs


def inbound_file_get(*, partner: Partner, file_id: int) -> InboundFile | None:
    return InboundFile.objects.filter(partner=partner, pk=file_id).first()


def quarantined_row_list(*, partner: Partner, file_id: int) -> QuerySet[QuarantinedRow]:
    return QuarantinedRow.objects.filter(partner=partner, file_id=file_id).order_by(
        "row_no", "stage"
    )
