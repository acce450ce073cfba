"""Reconciliation reads: the bank's end-of-day loan snapshot and a partner's breaks.

The snapshot is streamed with ``COPY (SELECT …) TO STDOUT`` on psycopg 3: PostgreSQL sends it
in rows as it produces them and we write each block on, so memory does not grow with loans.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from datetime import date

from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

from config.sql_literals import lit
from lending.reconciliation.models import Break
from partners.models import Partner, PartnerKind

SNAPSHOT_COLUMNS = (
    "loan_no", "as_of", "principal_outstanding", "interest_outstanding", "penalty_outstanding",
    "dpd", "status", "partner", "class", "accruing",
)


def snapshot_funders(*, partner_id: int | None = None) -> list[tuple[int, str]]:
    """(id, code) of the funders holding shares of the partner's loans: the bank first, then
    the others by code."""
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT f.id, f.code FROM partners_partner f
             WHERE EXISTS (SELECT 1 FROM lending_loanshare s
                             JOIN lending_loan l ON l.id = s.loan_id
                            WHERE s.funder_id = f.id
                              AND (%(p)s::bigint IS NULL OR l.partner_id = %(p)s::bigint))
             ORDER BY f.kind <> {lit(PartnerKind.BANK)}, f.code
            """,
            {"p": partner_id},
        )
        return cur.fetchall()


def loan_snapshot_sql(*, business_date: date, partner_id: int | None = None,
                      funders: list[tuple[int, str]]) -> sql.Composed:
    """The COPY statement of the snapshot: the `balances` file's columns for every loan booked
    by the date, plus partner, class, accruing, and per funder its principal, interest and
    penalty (penalty includes compound interest; empty where the funder has no share)."""
    d, p = sql.Literal(business_date), sql.Literal(partner_id)
    per_funder = [
        sql.SQL("sum(x.{c}) FILTER (WHERE x.funder_id = {fid}) AS {name}").format(
            c=sql.SQL(expr), fid=sql.Literal(fid), name=sql.Identifier(f"{code.lower()}_{what}"))
        for fid, code in funders
        for what, expr in (("principal", "principal"), ("interest", "interest"),
                           ("penalty", "penalty + compound"))
    ]
    select = sql.SQL(
        """
        SELECT l.loan_no, {d}::date AS as_of,
               sum(x.principal) AS principal_outstanding, sum(x.interest) AS interest_outstanding,
               sum(x.penalty + x.compound) AS penalty_outstanding, l.dpd, l.state AS status,
               pt.code AS partner, l.risk_class AS class,
               CASE WHEN l.accruing THEN 'true' ELSE 'false' END AS accruing{funders}
          FROM lending_share_positions({d}, {p}) x
          JOIN lending_loan l ON l.id = x.loan_id
          JOIN partners_partner pt ON pt.id = l.partner_id
         WHERE l.booked_on <= {d}
         GROUP BY l.id, pt.code
         ORDER BY pt.code, l.loan_no
        """
    ).format(d=d, p=p, funders=sql.SQL("").join(sql.SQL(", ") + c for c in per_funder))
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(select)


def loan_snapshot_stream(*, business_date: date, partner_id: int | None = None,
                         write: Callable[[bytes], object]) -> int:
    """Stream the snapshot CSV (UTF-8 bytes, header first) to `write`; returns the data rows."""
    funders = snapshot_funders(partner_id=partner_id)
    statement = loan_snapshot_sql(business_date=business_date, partner_id=partner_id,
                                  funders=funders)
    connection.ensure_connection()
    lines = 0  # no field can hold a line break (codes, numbers, dates): lines = rows + header
    with connection.connection.cursor() as cur, cur.copy(statement) as copy:
        for block in copy:
            data = bytes(block)
            lines += data.count(b"\n")
            write(data)
    return max(lines - 1, 0)


def loan_snapshot_text(*, business_date: date, partner_id: int | None = None,
                       write: Callable[[str], object]) -> int:
    """As `loan_snapshot_stream`, decoded for a text stream (a block may split a character)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    rows = loan_snapshot_stream(business_date=business_date, partner_id=partner_id,
                                write=lambda b: write(decoder.decode(b)))
    write(decoder.decode(b"", final=True))
    return rows


def break_list(*, partner: Partner, status: str | None = None,
               business_date: date | None = None, date_from: date | None = None,
               date_to: date | None = None) -> QuerySet[Break]:
    """A partner's breaks, newest first; `business_date` matches the day first seen."""
    qs = Break.objects.filter(partner=partner).order_by("-business_date", "loan_no", "kind",
                                                         "field", "pk")
    if status:
        qs = qs.filter(status=status)
    if business_date:
        qs = qs.filter(business_date=business_date)
    if date_from:
        qs = qs.filter(business_date__gte=date_from)
    if date_to:
        qs = qs.filter(business_date__lte=date_to)
    return qs
