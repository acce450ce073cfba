"""Reads of the lending app; aggregates are computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from config.sql_literals import lit
from lending.reconciliation.models import BreakStatus
from lending.settlement.models import MovementEvent as Ev
from lending.settlement.models import RunState
from partners.models import PartnerKind

BANK = lit(PartnerKind.BANK)


@dataclass(frozen=True)
class PortfolioLine:
    partner: str
    program: str
    loans: int
    principal: Decimal
    bank_principal: Decimal
    partner_principal: Decimal
    outstanding: Decimal


def portfolio_summary_list() -> list[PortfolioLine]:
    """Per partner and program: loans, principal, the bank's and the partners' funded shares."""
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH shares AS (
                SELECT s.loan_id,
                       SUM(s.funded_principal) FILTER (WHERE f.kind = {BANK}) AS bank,
                       SUM(s.funded_principal) FILTER (WHERE f.kind <> {BANK}) AS others
                  FROM lending_loanshare s JOIN partners_partner f ON f.id = s.funder_id
                 GROUP BY s.loan_id
            )
            SELECT p.code, g.code, COUNT(*), SUM(l.principal), COALESCE(SUM(sh.bank), 0),
                   COALESCE(SUM(sh.others), 0), SUM(l.principal_outstanding)
              FROM lending_loan l
              JOIN partners_partner p ON p.id = l.partner_id
              JOIN lending_program g ON g.id = l.program_id
              LEFT JOIN shares sh ON sh.loan_id = l.id
             GROUP BY p.code, g.code
             ORDER BY p.code, g.code
            """
        )
        return [PortfolioLine(*row) for row in cur.fetchall()]


@dataclass(frozen=True)
class SettlementLine:
    partner: str
    days: int
    collections: Decimal
    bank_share: Decimal
    partner_share: Decimal
    disbursed_bank: Decimal
    net_settlement: Decimal
    quarantined: int
    breaks_open: int


def settlement_summary_list(*, date_from=None, date_to=None) -> list[SettlementLine]:
    """Per platform over settled days: collections and their bank / partner shares, the bank's
    disbursements, the net settlement, quarantined rows and open breaks."""
    params = {"f": date_from, "t": date_to}
    span = ("(%(f)s::date IS NULL OR {c} >= %(f)s) AND (%(t)s::date IS NULL OR {c} <= %(t)s)")
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH runs AS (
                SELECT r.id, r.partner_id FROM lending_settlementrun r
                 WHERE r.state = {lit(RunState.DONE)} AND {span.format(c='r.business_date')}
            ), mv AS (
                SELECT runs.partner_id,
                       SUM(m.amount) FILTER (WHERE m.event IN ({lit(Ev.COLLECT, Ev.RECOVERY,
                           Ev.SUSPENSE_APPLY, Ev.CLAIM, Ev.WO_RECOVERY)})) AS collections,
                       SUM(m.amount) FILTER (WHERE m.event IN ({lit(Ev.COLLECT, Ev.SUSPENSE_APPLY,
                           Ev.CLAIM, Ev.WO_RECOVERY)}) AND f.kind = {BANK}) AS bank,
                       SUM(m.amount) FILTER (WHERE m.event IN ({lit(Ev.COLLECT, Ev.RECOVERY,
                           Ev.SUSPENSE_APPLY, Ev.WO_RECOVERY)}) AND f.kind <> {BANK}) AS partners,
                       SUM(m.amount) FILTER (WHERE m.event = {lit(Ev.DISBURSE)} AND f.kind = {BANK})
                           AS disbursed
                  FROM lending_movement m JOIN runs ON runs.id = m.run_id
                  JOIN partners_partner f ON f.id = m.funder_id
                 GROUP BY 1
            ), st AS (
                SELECT s.counterparty_id AS partner_id, SUM(s.net_amount) AS net
                  FROM lending_statement s JOIN runs ON runs.id = s.run_id GROUP BY 1
            ), q AS (
                SELECT partner_id, count(*) AS n FROM partners_quarantinedrow
                 WHERE {span.format(c='business_date')} GROUP BY 1
            ), b AS (
                SELECT partner_id, count(*) AS n FROM lending_break WHERE status = {lit(BreakStatus.OPEN)}
                 GROUP BY 1
            )
            SELECT p.code, (SELECT count(*) FROM runs WHERE runs.partner_id = p.id),
                   COALESCE(mv.collections, 0), COALESCE(mv.bank, 0), COALESCE(mv.partners, 0),
                   COALESCE(mv.disbursed, 0), COALESCE(st.net, 0), COALESCE(q.n, 0),
                   COALESCE(b.n, 0)
              FROM partners_partner p
              LEFT JOIN mv ON mv.partner_id = p.id LEFT JOIN st ON st.partner_id = p.id
              LEFT JOIN q ON q.partner_id = p.id LEFT JOIN b ON b.partner_id = p.id
             WHERE p.id IN (SELECT partner_id FROM runs) OR st.net IS NOT NULL
             ORDER BY p.code""", params)
        return [SettlementLine(*row) for row in cur.fetchall()]


def last_settled_date(partner_id: int):
    """The partner's last business date whose settlement run is DONE (None: none yet).

    The business-date rules of FILE_FORMATS.md v1.1 count from it: a file or a row dated on or
    before it touches a settled day, which is never rewritten."""
    from lending.settlement.models import SettlementRun

    return (SettlementRun.objects.filter(partner_id=partner_id, state=RunState.DONE)
            .order_by("-business_date").values_list("business_date", flat=True).first())


def first_business_date(partner_id: int):
    """The partner's first business date: its earliest accepted file's (None: no file yet)."""
    from partners.models import InboundFile, InboundFileStatus

    return (InboundFile.objects.filter(partner_id=partner_id, status=InboundFileStatus.ACCEPTED)
            .order_by("business_date").values_list("business_date", flat=True).first())
