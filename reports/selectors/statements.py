"""Statements and their drill-down: each line back to the movements behind it
(`lending.settlement.selectors.line_movements`, which the partner API shares) and to the
journal lines whose `source` names those movement groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from ledger.domain import chart
from ledger.models import JournalEntry, JournalLine
from lending.models import Program
from lending.settlement import posting, statements
from lending.settlement import selectors as settlement_selectors
from lending.settlement.models import Statement, StatementLine, StatementPayment
from lending.settlement.selectors import (  # moved there; re-exported for reports.selectors
    LineSpec as LineSpec,
)
from lending.settlement.selectors import line_component as line_component
from lending.settlement.selectors import line_specs as line_specs
from partners.models import Partner
from reports.selectors.common import DRILL_PAGE, ZERO


def statement_list(*, counterparty_id: int | None = None, business_date: date | None = None
                   ) -> QuerySet[Statement]:
    qs = (Statement.objects.select_related("counterparty", "run__partner")
          .annotate(lines_total=Sum("lines__amount"), line_count=Count("lines"))
          .order_by("-business_date", "counterparty__code", "run__partner__code"))
    if counterparty_id:
        qs = qs.filter(counterparty_id=counterparty_id)
    if business_date:
        qs = qs.filter(business_date=business_date)
    return qs


@dataclass
class StatementView:
    statement: Statement
    lines: list[dict]
    total: Decimal
    programs: dict[int, Program]
    payments: list[StatementPayment]
    paid: Decimal  # Σ payments

    @property
    def outstanding(self) -> Decimal:
        return self.statement.net_amount - self.paid


def statement_detail(*, statement_id: int) -> StatementView:
    st = Statement.objects.select_related("counterparty", "run__partner").get(pk=statement_id)
    payments = list(StatementPayment.objects.filter(statement=st).select_related("recorded_by")
                    .order_by("value_date", "pk"))
    lines = list(StatementLine.objects.filter(statement=st).order_by("program_id", "line_type",
                                                                       "pk"))
    programs = Program.objects.in_bulk({ln.program_id for ln in lines if ln.program_id})
    rows = [{"line": ln, "program": programs.get(ln.program_id),
             "component": line_component(ln.line_type)} for ln in lines]
    rows.sort(key=lambda r: ((r["program"].name if r["program"] else ""), r["line"].line_type))
    return StatementView(statement=st, lines=rows, total=sum((ln.amount for ln in lines), ZERO),
                         programs=programs, payments=payments,
                         paid=sum((p.amount for p in payments), ZERO))


@dataclass
class CounterpartyDay:
    counterparty: Partner
    business_date: date
    statements: list[StatementView]
    total: Decimal  # Σ of every line of every statement
    # its running balance from the GL (lending.settlement.statements.counterparty_balance):
    # per settlement account and "TOTAL"; + it owes the bank, − the bank owes it
    balance: dict[str, Decimal]
    balance_as_of_day: Decimal  # the same TOTAL over entries dated up to the day

    @property
    def balance_rows(self) -> list[tuple[str, str, Decimal]]:
        """(account code, name, debit − credit) of each settlement account."""
        names = {a.code: a.name for a in chart.CHART}
        return [(code, names[code], self.balance[code])
                for code in statements.SETTLEMENT_ACCOUNTS]


def counterparty_day(*, counterparty_code: str, business_date: date) -> CounterpartyDay:
    """A counterparty's statements of one day, one per platform run (a guarantor serving
    several platforms has several), with the day's total over all their lines."""
    counterparty = Partner.objects.get(code=counterparty_code)
    ids = list(Statement.objects.filter(counterparty=counterparty, business_date=business_date)
               .order_by("run__partner__code").values_list("pk", flat=True))
    views = [statement_detail(statement_id=pk) for pk in ids]
    return CounterpartyDay(
        counterparty=counterparty, business_date=business_date, statements=views,
        total=sum((v.total for v in views), ZERO),
        balance=statements.counterparty_balance(counterparty_code=counterparty.code),
        balance_as_of_day=statements.counterparty_balance(
            counterparty_code=counterparty.code, as_of=business_date)["TOTAL"])


@dataclass
class LineDrill:
    line: StatementLine
    program: Program | None
    funders: list[str]
    rows: list[dict]
    total: Decimal
    row_count: int
    journal_lines: list[JournalLine]
    entries: list[JournalEntry]


def line_drilldown(*, line_id: int, page: int = 1, page_size: int = DRILL_PAGE) -> LineDrill:
    """The movements behind a statement line per loan, transaction, event and component, with
    each funder's amount and the line's signed amount; the total over all of them (= the
    line) — `lending.settlement.selectors.line_movements` — and the journal lines posted from
    the same movement groups and their entries."""
    mv = settlement_selectors.line_movements(line_id=line_id, page=page, page_size=page_size)
    line, st = mv.line, mv.line.statement
    jl = list(JournalLine.objects.filter(
        entry__source_run=posting.run_key(st.run), entry__business_date=st.business_date,
        source__in=mv.sources).select_related("entry__book", "account").order_by("entry_id",
                                                                                  "pk"))
    entries = list({ln.entry_id: ln.entry for ln in jl}.values())
    program = Program.objects.filter(pk=line.program_id).first() if line.program_id else None
    return LineDrill(line=line, program=program, funders=mv.funder_codes, rows=mv.rows,
                     total=mv.total, row_count=mv.row_count, journal_lines=jl, entries=entries)
