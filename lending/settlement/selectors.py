"""Settlement reads: a partner's net settlement statements (the run's output), and the
movements behind a statement line (`line_movements`: the loan-level detail, through the same
(event, funder kind, component) mapping that `posting.statements_build` used to build the line).

Partners see only the statements of DONE runs; staff see the others marked provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch, QuerySet, Sum

from config.sql_literals import lit
from lending.settlement import posting
from lending.settlement.models import RunState, Statement, StatementLine
from partners.models import Partner, PartnerKind

ZERO = Decimal("0.00")
MOVEMENTS_PAGE = 500  # rows per page of a line's movements


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


# --- A statement line's movements -----------------------------------------------------

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
class LineMovements:
    """The movements behind a statement line, one row per loan, transaction, event and
    component: `amount` is the line's signed amount, `funders` each funder's movement (in the
    order of `funder_codes`, the bank first). `total` and `row_count` are over every row, not
    only the page; `sources` are the movement groups' journal-line sources."""

    line: StatementLine
    funder_codes: list[str]
    rows: list[dict]
    total: Decimal
    row_count: int
    sources: list[str]


def line_movements(*, line_id: int, partner: Partner | None = None, page: int = 1,
                   page_size: int = MOVEMENTS_PAGE, offset: int | None = None
                   ) -> LineMovements:
    """The movements behind a statement line per loan (loan_no), the partner's transaction
    (txn_no), event and component, each funder's amount and the line's signed amount; the total
    over all of them equals the line. Given `partner`, only a line of its own statement of a
    DONE run: another's is `StatementLine.DoesNotExist`. The rows are page `page` of
    `page_size`, or `page_size` from row `offset` when given."""
    lines = StatementLine.objects.select_related("statement__run__partner",
                                                 "statement__counterparty")
    if partner is not None:
        lines = lines.filter(statement__counterparty=partner,
                             statement__run__state=RunState.DONE)
    line = lines.get(pk=line_id)
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
            sign_params + params + same_params
            + [page_size, (page - 1) * page_size if offset is None else offset])
        rows = [{"loan_id": lid, "loan_no": no, "txn_id": tid, "txn_no": txn or "",
                 "event": ev, "component": comp, "amount": amt,
                 "funders": list(rest) if funders else []}
                for lid, no, tid, txn, ev, comp, amt, *rest in cur.fetchall()]
        cur.execute(
            f"""SELECT DISTINCT m.program_id, m.funder_id, m.event, m.component
                  FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                 WHERE {where}""", params)
        sources = [f"mv:{st.run_id}:{p}:{fu}:{ev}:{comp}:{int(reversal)}"
                   for p, fu, ev, comp in cur.fetchall()]
    return LineMovements(line=line, funder_codes=[c for _, c in funders], rows=rows,
                         total=total if total is not None else ZERO, row_count=row_count or 0,
                         sources=sources)
