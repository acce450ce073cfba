"""Partner reconciliation pages: a partner user's own data, never another partner's.

Every read takes the partner and filters by it first; an object of another partner is
`DoesNotExist`, which the pages answer with 404 (not 403: another partner's statement must not
be told to exist). Statements are those of DONE runs only, as the partner API shows them.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Func, IntegerField, QuerySet, Sum

from lending.reconciliation import selectors as recon_selectors
from lending.reconciliation.models import Break
from lending.settlement.models import RunState, Statement, StatementLine
from partners.models import InboundFile, Partner, QuarantinedRow
from reports.selectors.common import DRILL_PAGE
from reports.selectors.statements import (
    LineDrill,
    StatementView,
    line_drilldown,
    statement_detail,
)

SNAPSHOT_SPOOL_BYTES = 16 * 1024 * 1024  # the snapshot CSV in memory below this, on disk above


def _between(qs: QuerySet, field: str, date_from: date | None, date_to: date | None):
    if date_from:
        qs = qs.filter(**{f"{field}__gte": date_from})
    if date_to:
        qs = qs.filter(**{f"{field}__lte": date_to})
    return qs


def partner_statement_list(*, partner: Partner, date_from: date | None = None,
                           date_to: date | None = None) -> QuerySet[Statement]:
    """The partner's statements (it is the counterparty) of DONE runs, newest first."""
    qs = (Statement.objects.filter(counterparty=partner, run__state=RunState.DONE)
          .select_related("counterparty", "run__partner")
          .annotate(lines_total=Sum("lines__amount"), line_count=Count("lines"))
          .order_by("-business_date", "run__partner__code", "pk"))
    return _between(qs, "business_date", date_from, date_to)


def partner_statement_get(*, partner: Partner, statement_id: int) -> Statement:
    """One of the partner's statements of a DONE run (DoesNotExist for anyone else's)."""
    return (Statement.objects.select_related("counterparty", "run__partner")
            .get(pk=statement_id, counterparty=partner, run__state=RunState.DONE))


def partner_statement_detail(*, partner: Partner, statement_id: int) -> StatementView:
    """One of the partner's statements of a DONE run (DoesNotExist for anyone else's)."""
    if not Statement.objects.filter(pk=statement_id, counterparty=partner,
                                    run__state=RunState.DONE).exists():
        raise Statement.DoesNotExist(statement_id)
    return statement_detail(statement_id=statement_id)


def partner_line_drilldown(*, partner: Partner, line_id: int, page: int = 1,
                           page_size: int = DRILL_PAGE) -> LineDrill:
    """The loan-level detail of a line of one of the partner's statements: its movements per
    loan and the partner's txn_no (the bank's journal lines are not the partner's to see)."""
    if not StatementLine.objects.filter(pk=line_id, statement__counterparty=partner,
                                        statement__run__state=RunState.DONE).exists():
        raise StatementLine.DoesNotExist(line_id)
    return line_drilldown(line_id=line_id, page=page, page_size=page_size)


def partner_break_list(*, partner: Partner, status: str | None = None,
                       date_from: date | None = None, date_to: date | None = None
                       ) -> QuerySet[Break]:
    """The partner's breaks, newest first; the dates bound the day first seen."""
    qs = (Break.objects.filter(partner=partner).select_related("partner", "owner", "resolved_by")
          .annotate(age=Func(F("last_seen_on"), F("business_date"), arg_joiner=" - ",
                             template="(%(expressions)s)", output_field=IntegerField()))
          .order_by("-business_date", "loan_no", "kind", "field", "pk"))
    if status:
        qs = qs.filter(status=status)
    return _between(qs, "business_date", date_from, date_to)


def partner_file_list(*, partner: Partner, date_from: date | None = None,
                      date_to: date | None = None) -> QuerySet[InboundFile]:
    """The partner's files, newest business date first."""
    qs = InboundFile.objects.filter(partner=partner).order_by("-business_date", "-received_at",
                                                               "-pk")
    return _between(qs, "business_date", date_from, date_to)


@dataclass
class FileView:
    file: InboundFile
    quarantined: QuerySet[QuarantinedRow]


def partner_file_detail(*, partner: Partner, file_id: int) -> FileView:
    """One of the partner's files with its quarantined rows (DoesNotExist for anyone else's)."""
    file = InboundFile.objects.get(partner=partner, pk=file_id)
    return FileView(file=file, quarantined=QuarantinedRow.objects.filter(
        partner=partner, file=file).order_by("row_no", "stage"))


@dataclass
class Snapshot:
    business_date: date
    header: list[str]
    rows: Iterator[list[str]]  # consumed once


def loan_snapshot(*, business_date: date, partner_id: int | None = None) -> Snapshot:
    """The bank's end-of-day view of the loans on the date (one partner's, or all): the
    `balances` layout plus class, accrual flag and each funder's components — the same COPY as
    `manage.py export_loan_snapshot`, spooled (to disk past `SNAPSHOT_SPOOL_BYTES`) and read
    back as rows, so memory does not grow with the loans."""
    spool = tempfile.SpooledTemporaryFile(max_size=SNAPSHOT_SPOOL_BYTES, mode="w+",  # noqa: SIM115
                                          encoding="utf-8", newline="")
    recon_selectors.loan_snapshot_text(business_date=business_date, partner_id=partner_id,
                                       write=spool.write)
    spool.seek(0)
    reader = csv.reader(spool)
    header = next(reader, [])

    def rows() -> Iterator[list[str]]:
        with spool:
            yield from reader

    return Snapshot(business_date=business_date, header=header, rows=rows())


def partner_snapshot(*, partner: Partner, business_date: date) -> Snapshot:
    """The bank's loan snapshot of the partner's own loans on the date."""
    return loan_snapshot(business_date=business_date, partner_id=partner.pk)


def snapshot_money_columns(header: list[str]) -> frozenset[str]:
    return frozenset(h for h in header if h.endswith(("_outstanding", "_principal",
                                                      "_interest", "_penalty")))


__all__ = ["FileView", "Snapshot", "loan_snapshot", "partner_break_list", "partner_file_detail",
           "partner_file_list", "partner_line_drilldown", "partner_snapshot",
           "partner_statement_detail", "partner_statement_list", "snapshot_money_columns"]
