"""Reads of the lending app; aggregates are computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection


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
            """
            WITH shares AS (
                SELECT s.loan_id,
                       SUM(s.funded_principal) FILTER (WHERE f.kind = 'BANK') AS bank,
                       SUM(s.funded_principal) FILTER (WHERE f.kind <> 'BANK') AS others
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
