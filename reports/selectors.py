"""Reads of the staff report pages: a fixed number of queries per page, aggregates in SQL.

The dashboard reads per-day figures only (run totals, statements, breaks, alerts and the
`PortfolioDay` snapshot); statements drill down to the movements behind each line through the
same (event, funder kind, component) mapping that `lending.settlement.posting.statements_build`
used to build the line, and to the journal lines whose `source` names those movement groups.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Max, Q, QuerySet, Sum

from ledger.models import JournalEntry, JournalLine
from lending.models import Loan, Program
from lending.reconciliation.models import Break, BreakStatus
from lending.settlement import posting
from lending.settlement.models import Alert, RunState, SettlementRun, Statement, StatementLine
from partners.models import Partner, QuarantinedRow
from reports.models import DpdClass, PortfolioDay

ZERO = Decimal("0.00")
TREND_DAYS = 30

# Open breaks by age (days from first seen to last seen): label → (lowest, highest or None).
AGE_BUCKETS = {"0": (0, 0), "1-2": (1, 2), "3-5": (3, 5), "6+": (6, None)}

# Collections by component on the dashboard: the borrower's cash applied to the loans.
COLLECTION_EVENTS = ("COLLECT", "SUSPENSE_APPLY")
CLAIM_EVENTS = ("CLAIM",)
COMPONENTS = ("PRINCIPAL", "INTEREST", "PENALTY", "COMPOUND", "FEE", "COSTS")


# --- Morning dashboard ------------------------------------------------------------------------

@dataclass
class PartnerDay:
    partner: Partner
    run: SettlementRun
    collections: dict[str, Decimal] = field(default_factory=dict)  # component → Σ all funders
    collections_bank: Decimal = ZERO
    collections_total: Decimal = ZERO
    disbursed: Decimal = ZERO
    disbursed_bank: Decimal = ZERO
    claims: Decimal = ZERO
    statements: list[Statement] = field(default_factory=list)
    quarantined: int = 0
    breaks: dict[str, int] = field(default_factory=dict)  # age bucket → open breaks
    alerts: list[Alert] = field(default_factory=list)
    portfolio: list[dict] = field(default_factory=list)
    portfolio_date: date | None = None

    @property
    def check_problems(self) -> list[str]:
        return list(self.run.totals.get("check_problems") or [])

    @property
    def net_settlement(self) -> Decimal:
        return sum((s.net_amount for s in self.statements), ZERO)

    @property
    def break_buckets(self) -> list[tuple[str, int]]:
        return [(label, self.breaks.get(label, 0)) for label in AGE_BUCKETS]

    @property
    def breaks_open(self) -> int:
        return sum(self.breaks.values())


@dataclass
class Dashboard:
    partners: list[PartnerDay]
    portfolio: list[dict]  # per program (named) and DPD class, all partners
    dpd_classes: list[tuple[str, str]]
    trends: dict[str, list[tuple[str, Decimal]]]
    alerts_open: int
    portfolio_pending: list[str]  # partners whose latest DONE day has no snapshot yet


def _money(value) -> Decimal:
    return Decimal(str(value or "0"))


def _movement_sums(totals: dict) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(event, component) → (bank, other funders) from a run's control totals."""
    out = {}
    for key, v in (totals or {}).get("movements", {}).items():
        event, _, component = key.partition("/")
        out[(event, component)] = (_money(v.get("bank")), _money(v.get("partners")))
    return out


def age_bucket_of(age_days: int) -> str:
    for label, (lo, hi) in AGE_BUCKETS.items():
        if age_days >= lo and (hi is None or age_days <= hi):
            return label
    raise ValueError(age_days)


def latest_runs() -> list[SettlementRun]:
    """Each partner's run of its latest business date (whatever its state)."""
    return list(SettlementRun.objects.select_related("partner")
                .order_by("partner_id", "-business_date").distinct("partner_id"))


def dashboard_get() -> Dashboard:
    """Everything on the morning dashboard, from per-day figures, in a fixed number of queries;
    never a scan of the loans (the portfolio is the stored snapshot)."""
    runs = latest_runs()
    days = {r.partner_id: PartnerDay(partner=r.partner, run=r) for r in runs}
    for day in days.values():
        sums = _movement_sums(day.run.totals)
        for (event, component), (bank, others) in sums.items():
            if event in COLLECTION_EVENTS:
                day.collections[component] = day.collections.get(component, ZERO) + bank + \
                    others
                day.collections_bank += bank
                day.collections_total += bank + others
            elif event == "DISBURSE":
                day.disbursed += bank + others
                day.disbursed_bank += bank
            elif event in CLAIM_EVENTS:
                day.claims += bank
    run_ids = [r.pk for r in runs]
    partner_of_run = {r.pk: r.partner_id for r in runs}
    for st in (Statement.objects.filter(run_id__in=run_ids).select_related("counterparty")
               .order_by("run_id", "counterparty__code")):
        days[partner_of_run[st.run_id]].statements.append(st)
    pairs = Q()
    for r in runs:
        pairs |= Q(partner_id=r.partner_id, business_date=r.business_date)
    if runs:
        for pid, n in (QuarantinedRow.objects.filter(pairs).values_list("partner_id")
                       .annotate(n=Count("id")).order_by()):
            days[pid].quarantined = n
    with connection.cursor() as cur:
        cur.execute(
            """SELECT partner_id,
                      CASE WHEN last_seen_on - business_date = 0 THEN '0'
                           WHEN last_seen_on - business_date <= 2 THEN '1-2'
                           WHEN last_seen_on - business_date <= 5 THEN '3-5'
                           ELSE '6+' END, count(*)
                 FROM lending_break WHERE status = 'OPEN' GROUP BY 1, 2""")
        for pid, bucket, n in cur.fetchall():
            if pid in days:
                days[pid].breaks[bucket] = n
    alerts = list(Alert.objects.filter(acknowledged_at__isnull=True).select_related("partner")
                  .order_by("partner_id", "-business_date"))
    for a in alerts:
        if a.partner_id in days:
            days[a.partner_id].alerts.append(a)
    # the portfolio: each partner's latest snapshot (reports.services.portfolio_days_build
    # stores it for the latest DONE day; until it has, the one before is shown, dated)
    last_done = dict(SettlementRun.objects.filter(state=RunState.DONE)
                     .values_list("partner_id").annotate(d=Max("business_date")).order_by())
    snapshot_of = dict(PortfolioDay.objects.values_list("partner_id")
                       .annotate(d=Max("business_date")).order_by())
    pending = sorted(days[pid].partner.code for pid, d in last_done.items()
                     if pid in days and snapshot_of.get(pid) != d)
    for pid, d in snapshot_of.items():
        if pid in days:
            days[pid].portfolio_date = d
    portfolio: dict[tuple[str, str], dict] = {}
    if snapshot_of:
        rows = (PortfolioDay.objects.filter(_pairs(snapshot_of))
                .values("partner_id", "business_date", "partner__code", "program__code",
                        "program__name",
                        "dpd_class", "loans", "principal_outstanding")
                .order_by("partner__code", "program__code", "dpd_class"))
        for row in rows:
            key = (row["partner__code"], row["program__code"])
            line = portfolio.setdefault(key, {
                "partner": row["partner__code"], "as_of": snapshot_of[row["partner_id"]], "program": row["program__name"],
                "program_code": row["program__code"], "loans": 0, "principal": ZERO,
                "classes": {c: (0, ZERO) for c, _ in DpdClass.choices}})
            line["classes"][row["dpd_class"]] = (row["loans"], row["principal_outstanding"])
            line["loans"] += row["loans"]
            line["principal"] += row["principal_outstanding"]
            if row["partner_id"] in days:
                days[row["partner_id"]].portfolio.append(row)
    for line in portfolio.values():
        line["cells"] = [line["classes"][c] for c, _ in DpdClass.choices]
    return Dashboard(partners=sorted(days.values(), key=lambda d: d.partner.code),
                     portfolio=list(portfolio.values()), dpd_classes=list(DpdClass.choices),
                     trends=trends_get(runs), alerts_open=len(alerts),
                     portfolio_pending=pending)


def _pairs(partner_dates: dict[int, date]) -> Q:
    q = Q()
    for pid, d in partner_dates.items():
        q |= Q(partner_id=pid, business_date=d)
    return q


def trends_get(runs: list[SettlementRun]) -> dict[str, list[tuple[str, Decimal]]]:
    """Per business day over the 30 days up to the latest run: collections, net settlement
    with the platforms, breaks seen (opened + seen again) and the DPD 30+ ratio."""
    if not runs:
        return {"collections": [], "net": [], "breaks": [], "dpd30": []}
    end = max(r.business_date for r in runs)
    start = end - timedelta(days=TREND_DAYS - 1)
    collections: dict[date, Decimal] = defaultdict(lambda: ZERO)
    breaks: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, movements, seen in (SettlementRun.objects
                                 .filter(business_date__range=(start, end), state=RunState.DONE)
                                 .values_list("business_date", "totals__movements",
                                              "totals__breaks").order_by()):
        for key, v in (movements or {}).items():
            if key.partition("/")[0] in COLLECTION_EVENTS:
                collections[day] += _money(v.get("bank")) + _money(v.get("partners"))
        seen = seen or {}
        breaks[day] += Decimal(int(seen.get("opened") or 0) + int(seen.get("seen_again") or 0))
    net = dict(Statement.objects.filter(business_date__range=(start, end),
                                        run__state=RunState.DONE,
                                        counterparty_id=F("run__partner_id"))
               .values_list("business_date").annotate(n=Sum("net_amount")).order_by())
    dpd = defaultdict(lambda: [ZERO, ZERO])
    for day, cls, principal in (PortfolioDay.objects.filter(business_date__range=(start, end))
                                .values_list("business_date", "dpd_class")
                                .annotate(p=Sum("principal_outstanding")).order_by()):
        dpd[day][1] += principal
        if cls in (DpdClass.DPD_31_60, DpdClass.DPD_61_90, DpdClass.DPD_90_PLUS):
            dpd[day][0] += principal
    days = sorted(set(collections) | set(net))
    return {
        "collections": [(d.isoformat(), collections[d]) for d in days],
        "net": [(d.isoformat(), net.get(d, ZERO)) for d in days],
        "breaks": [(d.isoformat(), breaks[d]) for d in days],
        "dpd30": [(d.isoformat(), (over / total * 100).quantize(Decimal("0.01")))
                  for d, (over, total) in sorted(dpd.items()) if total],
    }


# --- Statements and their drill-down ------------------------------------------------------------

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


def statement_detail(*, statement_id: int) -> StatementView:
    st = Statement.objects.select_related("counterparty", "run__partner").get(pk=statement_id)
    lines = list(StatementLine.objects.filter(statement=st).order_by("program_id", "line_type",
                                                                       "pk"))
    programs = Program.objects.in_bulk({ln.program_id for ln in lines if ln.program_id})
    rows = [{"line": ln, "program": programs.get(ln.program_id),
             "component": line_component(ln.line_type)} for ln in lines]
    rows.sort(key=lambda r: ((r["program"].name if r["program"] else ""), r["line"].line_type))
    return StatementView(statement=st, lines=rows, total=sum((ln.amount for ln in lines), ZERO),
                         programs=programs)


@dataclass
class CounterpartyDay:
    counterparty: Partner
    business_date: date
    statements: list[StatementView]
    total: Decimal  # Σ of every line of every statement


def counterparty_day(*, counterparty_code: str, business_date: date) -> CounterpartyDay:
    """A counterparty's statements of one day, one per platform run (a guarantor serving
    several platforms has several), with the day's total over all their lines."""
    counterparty = Partner.objects.get(code=counterparty_code)
    ids = list(Statement.objects.filter(counterparty=counterparty, business_date=business_date)
               .order_by("run__partner__code").values_list("pk", flat=True))
    views = [statement_detail(statement_id=pk) for pk in ids]
    return CounterpartyDay(counterparty=counterparty, business_date=business_date,
                           statements=views, total=sum((v.total for v in views), ZERO))


def _for_guarantor(st: Statement) -> bool:
    return st.counterparty_id != st.run.partner_id


def _line_where(line: StatementLine) -> tuple[str, list, list[LineSpec]]:
    """The WHERE clause (over lending_movement m, partners_partner f) of a line's movements."""
    st = line.statement
    reversal, specs = line_specs(line.line_type, for_guarantor=_for_guarantor(st))
    if not specs:
        return "FALSE", [], specs
    ors, params = [], [st.run_id, st.business_date, line.program_id, reversal]
    for s in specs:
        clause = "((f.kind = 'BANK') = %s AND m.event = %s"
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
        parts.append("WHEN (f.kind = 'BANK') = %s AND m.event = %s THEN %s")
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


DRILL_PAGE = 500


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
            f"""SELECT DISTINCT a.funder_id, p.kind <> 'BANK', p.code
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


# --- Journal entries back to their movements ---------------------------------------------------

MOVEMENT_SOURCE = re.compile(
    r"^mv:(?P<run>[0-9]+):(?P<program>[0-9]+):(?P<funder>[0-9]+):(?P<event>[A-Z_]+)"
    r":(?P<component>[A-Z_]+):(?P<reversal>[01])$")


@dataclass
class EntryView:
    entry: JournalEntry
    lines: list[dict]  # {"line": JournalLine, "movements": n, "movement_total": Σ or None}


def _source_filter(source: str) -> tuple[str, list] | None:
    m = MOVEMENT_SOURCE.match(source)
    if not m:
        return None
    return ("m.run_id = %s AND m.program_id = %s AND m.funder_id = %s AND m.event = %s"
            " AND m.component = %s AND m.reversal = %s",
            [int(m["run"]), int(m["program"]), int(m["funder"]), m["event"], m["component"],
             m["reversal"] == "1"])


def journal_entry_detail(*, entry_id: int) -> EntryView:
    """A journal entry's lines, each with the count and Σ of the movements it was posted from
    (a line's amount is Σ of its movement group; accrual lines have none)."""
    entry = JournalEntry.objects.select_related("book").get(pk=entry_id)
    lines = list(entry.lines.select_related("account").order_by("pk"))
    out = []
    with connection.cursor() as cur:
        for ln in lines:  # an entry has a few lines (one per movement group and side)
            where = _source_filter(ln.source)
            n = total = None
            if where:
                cur.execute(f"SELECT count(*), SUM(m.amount) FROM lending_movement m "
                            f"WHERE m.business_date = %s AND {where[0]}",
                            [entry.business_date, *where[1]])
                n, total = cur.fetchone()
            out.append({"line": ln, "movements": n, "movement_total": total})
    return EntryView(entry=entry, lines=out)


def journal_line_movements(*, line_id: int, limit: int = DRILL_PAGE) -> tuple[JournalLine,
                                                                                list[dict]]:
    """The movements a journal line was posted from, per loan (loan no, txn_no, amount)."""
    line = JournalLine.objects.select_related("entry__book", "account").get(pk=line_id)
    where = _source_filter(line.source)
    if where is None:
        return line, []
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT m.loan_id, l.loan_no, r.txn_no, m.installment_seq, m.amount
                  FROM lending_movement m JOIN lending_loan l ON l.id = m.loan_id
                  LEFT JOIN lending_stagedrepayment r ON r.id = m.txn_id
                 WHERE m.business_date = %s AND {where[0]}
                 ORDER BY l.loan_no, m.id LIMIT %s""",
            [line.entry.business_date, *where[1], limit])
        rows = [dict(zip(("loan_id", "loan_no", "txn_no", "installment_seq", "amount"), r,
                         strict=True)) for r in cur.fetchall()]
    return line, rows


# --- Loan page ----------------------------------------------------------------------------------

@dataclass
class LoanView:
    loan: Loan
    shares: list
    installments: list
    repayments: list[dict]
    movements: list[dict]
    breaks: list[Break]
    claims: list
    entries: list[JournalEntry]


def loan_detail(*, loan_id: int) -> LoanView:
    """A loan with its shares, schedule, repayments (each with its allocation per component
    and funder), movements, breaks, claims and the journal entries its movements went into."""
    loan = Loan.objects.select_related("partner", "program", "agreement_version").get(pk=loan_id)
    shares = list(loan.shares.select_related("funder").order_by("funder__kind", "funder__code"))
    with connection.cursor() as cur:
        cur.execute(
            """SELECT m.business_date, m.run_id, m.program_id, m.funder_id, f.code, m.event,
                      m.component, m.amount, m.installment_seq, m.txn_id, r.txn_no, m.reversal
                 FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                 LEFT JOIN lending_stagedrepayment r ON r.id = m.txn_id
                WHERE m.loan_id = %s ORDER BY m.business_date, m.id""", [loan.pk])
        movements = [dict(zip(("business_date", "run_id", "program_id", "funder_id", "funder",
                               "event", "component", "amount", "installment_seq", "txn_id",
                               "txn_no", "reversal"), row, strict=True))
                     for row in cur.fetchall()]
        cur.execute(
            """SELECT id, txn_no, paid_on, amount, payer, kind, status, business_date
                 FROM lending_stagedrepayment WHERE partner_id = %s AND loan_no = %s
                ORDER BY business_date, txn_no""", [loan.partner_id, loan.loan_no])
        repayments = [dict(zip(("id", "txn_no", "paid_on", "amount", "payer", "kind", "status",
                                "business_date"), row, strict=True))
                      for row in cur.fetchall()]
    by_txn: dict[int, list[dict]] = defaultdict(list)
    for m in movements:
        if m["txn_id"]:
            by_txn[m["txn_id"]].append(m)
    for r in repayments:
        r["allocation"] = by_txn.get(r["id"], [])
        r["allocated"] = sum((m["amount"] for m in r["allocation"]), ZERO)
    sources = {f"mv:{m['run_id']}:{m['program_id']}:{m['funder_id']}:{m['event']}:"
               f"{m['component']}:{int(m['reversal'])}" for m in movements}
    runs = {m["run_id"] for m in movements}
    keys = [posting.run_key(r) for r in SettlementRun.objects.filter(pk__in=runs)
            .select_related("partner")]
    entries = list(JournalEntry.objects.filter(
        source_run__in=keys, lines__source__in=sources).select_related("book").distinct()
        .order_by("business_date", "pk"))
    return LoanView(loan=loan, shares=shares,
                    installments=list(loan.installments.order_by("seq")),
                    repayments=repayments, movements=movements,
                    breaks=list(loan.breaks.order_by("-business_date", "kind")),
                    claims=list(loan.claims.select_related("guarantor")), entries=entries)


# --- Breaks triage ------------------------------------------------------------------------------

def break_list(*, status: str | None = BreakStatus.OPEN, partner_id: int | None = None,
               kind: str | None = None, age: str | None = None, field: str | None = None,
               owner_id: int | None = None, unowned: bool = False) -> QuerySet[Break]:
    """Breaks, open by default, filtered by partner, kind, component (the field that differs),
    owner and age bucket, oldest first."""
    qs = (Break.objects.select_related("partner", "owner")
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
