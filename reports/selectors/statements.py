"""Statements and their drill-down: each line back to the movements behind it, through the
same (event, funder kind, component) mapping that `lending.settlement.posting.statements_build`
used to build the line, and to the journal lines whose `source` names those movement groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, QuerySet, Sum

from config.sql_literals import lit
from ledger.domain import chart
from ledger.models import JournalEntry, JournalLine
from lending.models import Program
from lending.settlement import posting, statements
from lending.settlement.models import Statement, StatementLine, StatementPayment
from partners.models import Partner, PartnerKind
from reports.selectors.common import DRILL_PAGE, ZERO


@dataclass(frozen=True)
class LineSpec:
    """Which movements make a statement line: funder kind, event, components, sign."""

    funder_is_bank: bool
    event: str
    components: tuple[str, ...] | None  # None: every component
    sign: int


def line_specs(line_type: str, *, for_guarantor: bool) -> tuple[bool, list[LineSpec]]:
    """(reversal, the movement groups) behind a statement line of `line_type` — the inverse of
    the tables statements_build adds lines up with."""
    reversal = line_type.startswith("REVERSAL_")
    base = line_type.removeprefix("REVERSAL_")
    table = posting._GUARANTOR_LINES if for_guarantor else posting._PLATFORM_LINES
    specs = []
    for (is_bank, event), spec in table.items():
        for kind, sign in (spec if isinstance(spec[0], tuple) else (spec,)):
            if kind == "COLLECTION_" and base.startswith("COLLECTION_"):
                component = base.removeprefix("COLLECTION_")
                comps = ("PENALTY", "COMPOUND") if component == "PENALTY" else (component,)
                specs.append(LineSpec(is_bank, event, comps, sign))
            elif kind == base:
                specs.append(LineSpec(is_bank, event, None, sign))
    return reversal, specs


def line_component(line_type: str) -> str:
    base = line_type.removeprefix("REVERSAL_")
    return base.removeprefix("COLLECTION_") if base.startswith("COLLECTION_") else "ALL"


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


def _for_guarantor(st: Statement) -> bool:
    return st.counterparty_id != st.run.partner_id


def _is_bank(alias: str) -> str:
    """SQL, true when the partners_partner row aliased `alias` is the bank."""
    return f"({alias}.kind = {lit(PartnerKind.BANK)})"


def _line_where(line: StatementLine) -> tuple[str, list, list[LineSpec]]:
    """The WHERE clause (over lending_movement m, partners_partner f) of a line's movements."""
    st = line.statement
    reversal, specs = line_specs(line.line_type, for_guarantor=_for_guarantor(st))
    if not specs:
        return "FALSE", [], specs
    ors, params = [], [st.run_id, st.business_date, line.program_id, reversal]
    for s in specs:
        clause = f"({_is_bank('f')} = %s AND m.event = %s"
        params += [s.funder_is_bank, s.event]
        if s.components is not None:
            clause += " AND m.component = ANY(%s)"
            params.append(list(s.components))
        ors.append(clause + ")")
    where = (" m.run_id = %s AND m.business_date = %s AND m.program_id = %s"
             " AND m.reversal = %s AND (" + " OR ".join(ors) + ")")
    return where, params, specs


def _sign_sql(specs: list[LineSpec]) -> tuple[str, list]:
    """The line's sign for a movement row (CLAIM_EXCESS counts +1 and −1 on two lines)."""
    parts, params = [], []
    for s in specs:
        parts.append(f"WHEN {_is_bank('f')} = %s AND m.event = %s THEN %s")
        params += [s.funder_is_bank, s.event, s.sign]
    return "CASE " + " ".join(parts) + " ELSE 0 END", params


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
    line); the journal lines posted from the same movement groups and their entries."""
    line = StatementLine.objects.select_related("statement__run__partner",
                                                "statement__counterparty").get(pk=line_id)
    where, params, specs = _line_where(line)
    sign, sign_params = _sign_sql(specs) if specs else ("0", [])
    st = line.statement
    reversal = line.line_type.startswith("REVERSAL_")
    # Every funder's movement of the same loan, transaction, event and component, whether the
    # line counts it or not (a platform's collection line counts the bank's share; its own
    # share is shown beside it).
    same = ("a.run_id = %s AND a.business_date = %s AND a.loan_id = g.loan_id"
            " AND a.txn_id IS NOT DISTINCT FROM g.txn_id AND a.event = g.event"
            " AND a.component = g.component AND a.reversal = %s")
    same_params = [st.run_id, st.business_date, reversal]
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT SUM(({sign}) * m.amount), count(DISTINCT (m.loan_id, m.txn_id,
                       m.event, m.component))
                  FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                 WHERE {where}""", sign_params + params)
        total, row_count = cur.fetchone()
        groups = f"""SELECT m.loan_id, m.txn_id, m.event, m.component,
                            SUM(({sign}) * m.amount) AS amount
                       FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                      WHERE {where} GROUP BY 1, 2, 3, 4"""
        cur.execute(
            f"""SELECT DISTINCT a.funder_id, NOT {_is_bank('p')}, p.code
                  FROM ({groups}) g JOIN lending_movement a ON {same}
                  JOIN partners_partner p ON p.id = a.funder_id ORDER BY 2, 3""",
            sign_params + params + same_params)
        funders = [(fid, code) for fid, _, code in cur.fetchall()]
        per_funder = ", ".join(f"SUM(a.amount) FILTER (WHERE a.funder_id = {int(fid)})"
                               for fid, _ in funders) or "NULL"
        cur.execute(
            f"""SELECT g.loan_id, l.loan_no, g.txn_id, r.txn_no, g.event, g.component,
                       g.amount, {per_funder}
                  FROM ({groups}) g JOIN lending_loan l ON l.id = g.loan_id
                  LEFT JOIN lending_stagedrepayment r ON r.id = g.txn_id
                  JOIN lending_movement a ON {same}
                 GROUP BY g.loan_id, l.loan_no, g.txn_id, r.txn_no, g.event, g.component,
                          g.amount
                 ORDER BY l.loan_no, g.txn_id NULLS FIRST, g.event, g.component
                 LIMIT %s OFFSET %s""",
            sign_params + params + same_params + [page_size, (page - 1) * page_size])
        rows = [{"loan_id": lid, "loan_no": no, "txn_id": tid, "txn_no": txn or "",
                 "event": ev, "component": comp, "amount": amt, "funders": list(rest)}
                for lid, no, tid, txn, ev, comp, amt, *rest in cur.fetchall()]
        cur.execute(
            f"""SELECT DISTINCT m.program_id, m.funder_id, m.event, m.component
                  FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                 WHERE {where}""", params)
        sources = [f"mv:{st.run_id}:{p}:{fu}:{ev}:{comp}:{int(reversal)}"
                   for p, fu, ev, comp in cur.fetchall()]
    jl = list(JournalLine.objects.filter(
        entry__source_run=posting.run_key(st.run), entry__business_date=st.business_date,
        source__in=sources).select_related("entry__book", "account").order_by("entry_id", "pk"))
    entries = list({ln.entry_id: ln.entry for ln in jl}.values())
    program = Program.objects.filter(pk=line.program_id).first() if line.program_id else None
    return LineDrill(line=line, program=program, funders=[c for _, c in funders], rows=rows,
                     total=total or ZERO, row_count=row_count or 0, journal_lines=jl,
                     entries=entries)
