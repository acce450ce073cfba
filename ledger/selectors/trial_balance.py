"""The trial balance of a book and the ledger-wide checks' questions: unbalanced entries, the
books there are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

from ledger.domain.money import ZERO
from ledger.models import Book
from ledger.selectors.accounts import UnknownLedgerObject


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    key: str
    name: str
    type: str
    normal_balance: str
    currency: str
    off_balance: bool
    debit_total: Decimal
    credit_total: Decimal

    @property
    def debit_balance(self) -> Decimal:
        net = self.debit_total - self.credit_total
        return net if net > 0 else ZERO

    @property
    def credit_balance(self) -> Decimal:
        net = self.credit_total - self.debit_total
        return net if net > 0 else ZERO


@dataclass(frozen=True)
class TrialBalance:
    book: str
    as_of: date
    rows: list[TrialBalanceRow] = field(default_factory=list)

    def __iter__(self) -> Iterator[TrialBalanceRow]:
        return iter(self.rows)

    def totals(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per currency: (sum of debit balances, sum of credit balances)."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for row in self.rows:
            d, c = out.get(row.currency, (ZERO, ZERO))
            out[row.currency] = (d + row.debit_balance, c + row.credit_balance)
        return out

    @property
    def is_balanced(self) -> bool:
        return all(d == c for d, c in self.totals().values())


_TRIAL_BALANCE = """
SELECT a.code, a.key, a.name, a.type, a.normal_balance, a.currency, a.off_balance,
       coalesce(s.debits, 0), coalesce(s.credits, 0)
  FROM ledger_account a
  LEFT JOIN (
        SELECT l.account_id, sum(l.debit) AS debits, sum(l.credit) AS credits
          FROM ledger_journalline l
          JOIN ledger_journalentry e ON e.id = l.entry_id
         WHERE e.book_id = %(book_id)s AND e.business_date <= %(as_of)s
         GROUP BY l.account_id
       ) s ON s.account_id = a.id
 WHERE a.book_id = %(book_id)s
 ORDER BY a.code
"""


def trial_balance_list(*, book: str, as_of: date, include_zero: bool = True) -> TrialBalance:
    """Each account's debit and credit totals and balance as of a date; the rows' debit
    balances equal their credit balances in every currency when the book holds."""
    book_id = Book.objects.filter(code=book).values_list("pk", flat=True).first()
    if book_id is None:
        raise UnknownLedgerObject(f"book {book!r} does not exist")
    with connection.cursor() as cursor:
        cursor.execute(_TRIAL_BALANCE, {"book_id": book_id, "as_of": as_of})
        rows = [TrialBalanceRow(*r) for r in cursor.fetchall()]
    if not include_zero:
        rows = [r for r in rows if r.debit_total or r.credit_total]
    return TrialBalance(book=book, as_of=as_of, rows=rows)


_UNBALANCED = """
SELECT e.id, e.idempotency_key, l.currency, coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0),
       count(l.id)
  FROM ledger_journalentry e
  LEFT JOIN ledger_journalline l ON l.entry_id = e.id
 WHERE %(as_of)s::date IS NULL OR e.business_date <= %(as_of)s::date
 GROUP BY e.id, e.idempotency_key, l.currency
HAVING coalesce(sum(l.debit), 0) <> coalesce(sum(l.credit), 0) OR count(l.id) = 0
 ORDER BY e.id
 LIMIT %(limit)s
"""


def entries_unbalanced_list(*, as_of: date | None = None, limit: int = 100) -> list[str]:
    """Problems: entries (dated up to ``as_of``) with no lines or unbalanced in a currency."""
    with connection.cursor() as cursor:
        cursor.execute(_UNBALANCED, {"as_of": as_of, "limit": limit})
        return [
            f"entry {pk} ({key}) has no lines"
            if n == 0
            else f"entry {pk} ({key}) does not balance in {cur}: debits {d}, credits {c}"
            for pk, key, cur, d, c, n in cursor.fetchall()
        ]


def book_codes_list() -> list[str]:
    return list(Book.objects.order_by("code").values_list("code", flat=True))
