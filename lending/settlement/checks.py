"""Ledger checks added by the settlement: the sub-ledger equals the GL control accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from config.sql_literals import lit
from ledger import selectors as ledger_selectors
from ledger.domain import chart
from lending.settlement import positions
from lending.settlement.models import RunState
from lending.settlement.posting import program_dimension
from lending.settlement.statements_ledger import SETTLEMENT_ACCOUNTS
from partners.models import PartnerKind

ZERO = Decimal("0.00")


def subledger_equals_gl(*, as_of: date | None = None, partner_id: int | None = None
                        ) -> list[str]:
    """For every program, funder (book) and component: Σ sub-ledger = GL control balance.

    Each platform is compared as of its own latest settled date: the GL holds what that run
    posted and the sub-ledger (its stored balances are the current ones) is derived to the same
    date. With `as_of`: the platforms whose latest settled date is `as_of` — the runs of that
    date (a run's checks must not recompute every other platform's million loans; a platform
    settled beyond `as_of` cannot be compared as of `as_of` from current balances, one settled
    before it was checked by its own run). Without: every platform (`check_ledger`).
    """
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT r.partner_id, p.code, max(r.business_date)
                 FROM lending_settlementrun r JOIN partners_partner p ON p.id = r.partner_id
                WHERE r.state IN ({lit(RunState.DONE)}, {lit(RunState.RUNNING)}, {lit(RunState.FAILED)}) AND r.step <> 'GATE'
                GROUP BY 1, 2 ORDER BY 2""")
        partners = cur.fetchall()
    problems: list[str] = []
    for pid, partner_code, day in partners:
        if (as_of is not None and day != as_of) or partner_id not in (None, pid):
            continue
        problems += _partner_subledger_vs_gl(pid, partner_code, day)
    return problems


def _partner_subledger_vs_gl(partner_id: int, partner_code: str, day: date) -> list[str]:
    relation, params = positions.source(partner_id, day)
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT CASE WHEN f.kind = {lit(PartnerKind.BANK)} THEN %s ELSE %s || f.code END, g.code,
                      SUM(x.principal),
                      SUM(x.interest) FILTER (WHERE x.accruing),
                      SUM(x.penalty + x.compound) FILTER (WHERE x.accruing),
                      SUM(x.interest + x.penalty + x.compound) FILTER (WHERE NOT x.accruing)
                 FROM {relation} x
                 JOIN partners_partner f ON f.id = x.funder_id
                 JOIN lending_program g ON g.id = x.program_id
                GROUP BY 1, 2""",
            [chart.BANK_GL, chart.MEMO_PREFIX, *params])
        sub = cur.fetchall()
    gl = ledger_selectors.balances_by_book_account_program(
        accounts=[chart.LOANS_RECEIVABLE, chart.INTEREST_RECEIVABLE, chart.PENALTY_RECEIVABLE,
                  chart.OFF_BALANCE_INTEREST],
        as_of=day, program_prefix=program_dimension(partner_code, ""))
    problems = []
    for book, program, principal, interest, penalty, off in sub:
        dim = program_dimension(partner_code, program)
        for account, expected in ((chart.LOANS_RECEIVABLE, principal),
                                  (chart.INTEREST_RECEIVABLE, interest),
                                  (chart.PENALTY_RECEIVABLE, penalty),
                                  (chart.OFF_BALANCE_INTEREST, off)):
            got = gl.get((book, account, dim), ZERO)
            if (expected or ZERO) != got:
                problems.append(f"{day} {book} {dim} account {account}: sub-ledger "
                                f"{expected or ZERO} != GL {got}")
    return problems


def statements_tie(*, as_of: date | None = None, partner_id: int | None = None) -> list[str]:
    """Each statement's net = Σ of its lines, and Σ of all statements of a run = the run's
    GL movement on the settlement accounts (due from/to platform and guarantor, fee payable).
    With `partner_id`: the statements of that platform's runs."""
    conds: list[str] = []
    params: list[date | int] = []
    if as_of:
        conds.append("s.business_date = %s")
        params.append(as_of)
    if partner_id is not None:
        conds.append("s.run_id IN (SELECT id FROM lending_settlementrun WHERE partner_id = %s)")
        params.append(partner_id)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT s.id, s.net_amount, COALESCE(SUM(l.amount), 0)
                  FROM lending_statement s LEFT JOIN lending_statementline l
                    ON l.statement_id = s.id {where}
                 GROUP BY 1, 2 HAVING s.net_amount <> COALESCE(SUM(l.amount), 0)""", params)
        problems = [f"statement {sid}: net {net} != lines {lines}"
                    for sid, net, lines in cur.fetchall()]
        cur.execute(
            f"""SELECT s.run_id, 'settle:' || to_char(r.business_date, 'YYYY-MM-DD') || ':'
                       || p.code, SUM(s.net_amount)
                  FROM lending_statement s
                  JOIN lending_settlementrun r ON r.id = s.run_id
                  JOIN partners_partner p ON p.id = r.partner_id
                  {where} GROUP BY 1, 2 ORDER BY 1""", params)
        runs = cur.fetchall()
    gl = ledger_selectors.balances_by_source_run(
        book=chart.BANK_GL, accounts=SETTLEMENT_ACCOUNTS, source_runs=[key for _, key, _ in runs])
    problems += [f"run {rid}: statements net {net} != GL settlement accounts {gl.get(key, 0)}"
                 for rid, key, net in runs if net != gl.get(key, 0)]
    return problems


def loans_equal_shares(*, as_of: date | None = None, partner_id: int | None = None
                       ) -> list[str]:
    """Each loan's stored balances = Σ of its shares' (principal, interest, penalty, compound).

    Reconciliation reads a loan's own balances as our side. With a date: the loans that moved
    on that date (only the run's chunks and booking write balances); without: every loan. With
    `partner_id`: that partner's loans.
    """
    conds: list[str] = []
    params: list[date | int] = []
    if as_of:
        conds.append("l.id IN (SELECT loan_id FROM lending_movement WHERE business_date = %s)")
        params.append(as_of)
    if partner_id is not None:
        conds.append("l.partner_id = %s")
        params.append(partner_id)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT l.loan_no, l.principal_outstanding, l.interest_outstanding,
                       l.penalty_outstanding, l.compound_outstanding,
                       SUM(s.principal_outstanding), SUM(s.interest_outstanding),
                       SUM(s.penalty_outstanding), SUM(s.compound_outstanding)
                  FROM lending_loan l JOIN lending_loanshare s ON s.loan_id = l.id
                  {where}
                 GROUP BY l.id
                HAVING (l.principal_outstanding, l.interest_outstanding, l.penalty_outstanding,
                        l.compound_outstanding)
                       IS DISTINCT FROM (SUM(s.principal_outstanding),
                                         SUM(s.interest_outstanding),
                                         SUM(s.penalty_outstanding),
                                         SUM(s.compound_outstanding))
                 ORDER BY l.id""", params)
        rows = cur.fetchall()
    return [f"loan {loan_no}: balances ({lp}, {li}, {ln}, {lc}) != Σ shares "
            f"({sp}, {si}, {sn}, {sc})" for loan_no, lp, li, ln, lc, sp, si, sn, sc in rows]
