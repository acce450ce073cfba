"""Settlement reads: a partner's net settlement statements (the run's output).

Partners see only the statements of DONE runs; staff see the others marked provisional.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum

from lending.settlement.models import RunState, Statement, StatementLine
from partners.models import Partner


def statement_list(*, partner: Partner, business_date: date | None = None,
                   date_from: date | None = None, date_to: date | None = None
                   ) -> QuerySet[Statement]:
    """A partner's net settlement statements with their lines, newest first: only those of
    DONE runs (a run that is not DONE has provisional figures, seen by staff only)."""
    qs = (Statement.objects.filter(counterparty=partner, run__state=RunState.DONE)
          .select_related("run__partner")
          .prefetch_related(Prefetch("lines", StatementLine.objects.order_by("pk")))
          .order_by("-business_date", "pk"))
    if business_date:
        qs = qs.filter(business_date=business_date)
    if date_from:
        qs = qs.filter(business_date__gte=date_from)
    if date_to:
        qs = qs.filter(business_date__lte=date_to)
    return qs


def statement_get(*, partner: Partner, statement_id: int) -> Statement | None:
    return statement_list(partner=partner).filter(pk=statement_id).first()


def statement_day_totals(*, counterparty: Partner, business_date: date,
                         include_provisional: bool = False) -> dict[str, Decimal]:
    """A counterparty's net per platform for one day, and their total under "TOTAL"
    (DOMAIN.md §8.10: a guarantor serving several platforms has one statement per platform)."""
    qs = Statement.objects.filter(counterparty=counterparty, business_date=business_date)
    if not include_provisional:
        qs = qs.filter(run__state=RunState.DONE)
    per = dict(qs.values_list("run__partner__code").annotate(net=Sum("net_amount"))
               .order_by("run__partner__code"))
    per["TOTAL"] = sum(per.values(), Decimal("0.00"))
    return per
