"""Breaks triage: the list with its filters."""

from __future__ import annotations

from django.db.models import F, Func, IntegerField, QuerySet

from lending.reconciliation.models import Break, BreakStatus
from reports.selectors.common import AGE_BUCKETS


def break_list(*, status: str | None = BreakStatus.OPEN, partner_id: int | None = None,
               kind: str | None = None, age: str | None = None, field: str | None = None,
               owner_id: int | None = None, unowned: bool = False) -> QuerySet[Break]:
    """Breaks, open by default, filtered by partner, kind, component (the field that differs),
    owner and age bucket, oldest first."""
    qs = (Break.objects.select_related("partner", "owner", "resolved_by")
          .annotate(age=Func(F("last_seen_on"), F("business_date"), arg_joiner=" - ",
                             template="(%(expressions)s)", output_field=IntegerField()))
          .order_by("business_date", "partner__code", "loan_no", "kind", "field", "pk"))
    if status:
        qs = qs.filter(status=status)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    if kind:
        qs = qs.filter(kind=kind)
    if field:
        qs = qs.filter(field=field)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if unowned:
        qs = qs.filter(owner__isnull=True)
    if age:
        lo, hi = AGE_BUCKETS[age]
        qs = qs.filter(age__gte=lo)
        if hi is not None:
            qs = qs.filter(age__lte=hi)
    return qs
