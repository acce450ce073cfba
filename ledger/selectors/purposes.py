"""The entries of one purpose in one book: what they hold per program and source, the latest
per program, how many on a date. The reconciliation's rounding account (尾差) asks these; the
caller owns what the purpose, the program dimension and the sources mean (issue 23)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

_HELD = """
SELECT l.program, l.source, sum(l.debit - l.credit), max(e.business_date)
  FROM ledger_journalline l
  JOIN ledger_journalentry e ON e.id = l.entry_id
  JOIN ledger_book b ON b.id = e.book_id
  JOIN ledger_account a ON a.id = l.account_id
 WHERE b.code = %(book)s AND e.purpose = %(purpose)s AND a.code = %(account)s
 GROUP BY 1, 2
"""


def purpose_balances_by_program_source(
    *, book: str, purpose: str, account: str
) -> dict[tuple[str, str], tuple[Decimal, date]]:
    """(program, source) → (debit − credit, latest business date) of the lines on one account
    code posted by the entries of one ``purpose`` in one book, every date (a later date than the
    caller's included). Slices with no line are absent."""
    with connection.cursor() as cursor:
        cursor.execute(_HELD, {"book": book, "purpose": purpose, "account": account})
        return {(program, source): (net, last_day)
                for program, source, net, last_day in cursor.fetchall()}


_LATEST = """
SELECT DISTINCT ON (l.program) l.program, e.id
  FROM ledger_journalentry e
  JOIN ledger_book b ON b.id = e.book_id
  JOIN ledger_journalline l ON l.entry_id = e.id
 WHERE b.code = %(book)s AND e.purpose = %(purpose)s AND e.business_date <= %(as_of)s
 ORDER BY l.program, e.business_date DESC, e.id DESC
"""


def purpose_latest_entry_by_program(*, book: str, purpose: str, as_of: date) -> dict[str, int]:
    """program → the id of the latest entry (by business date, then id) of one ``purpose`` in
    one book dated ≤ ``as_of`` with a line in that program. Programs with none are absent."""
    with connection.cursor() as cursor:
        cursor.execute(_LATEST, {"book": book, "purpose": purpose, "as_of": as_of})
        return dict(cursor.fetchall())


def purpose_entries_count(*, book: str, purpose: str, business_date: date) -> int:
    """How many entries of one ``purpose`` one book holds dated ``business_date``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ledger_journalentry e JOIN ledger_book b ON b.id = e.book_id"
            " WHERE b.code = %s AND e.purpose = %s AND e.business_date = %s",
            [book, purpose, business_date])
        (count,) = cursor.fetchone()
        return int(count)
