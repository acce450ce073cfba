"""Ledger reads. Aggregates are computed by PostgreSQL, never by looping over lines in Python."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from ledger.domain.chart import DEBIT
from ledger.domain.errors import LedgerError
from ledger.domain.money import ZERO
from ledger.models import Account, Book


class UnknownLedgerObject(LedgerError):
    """A selector was asked about a book or account that does not exist."""


@dataclass(frozen=True)
class AccountBalance:
    book: str
    account: str
    currency: str
    normal_balance: str
    debit_total: Decimal
    credit_total: Decimal

    @property
    def balance(self) -> Decimal:
        """Balance on the account's normal side (positive = normal)."""
        net = self.debit_total - self.credit_total
        return net if self.normal_balance == DEBIT else -net


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


@dataclass(frozen=True)
class AccountLine:
    line_id: int
    entry_id: int
    business_date: date
    idempotency_key: str
    purpose: str
    source_run: str
    reverses_id: int | None
    debit: Decimal
    credit: Decimal
    currency: str
    program: str
    counterparty: str
    source: str
    running_balance: Decimal  # on the account's normal side, from the first line ever


def _account(book: str, account: str) -> Account:
    try:
        return Account.objects.select_related("book").get(book__code=book, code=account)
    except Account.DoesNotExist as exc:
        raise UnknownLedgerObject(f"account {account!r} does not exist in book {book!r}") from exc


def account_balance_get(
    *,
    book: str,
    account: str,
    as_of: date,
    program: str | None = None,
    counterparty: str | None = None,
) -> AccountBalance:
    """Debits, credits and balance of an account (optionally one program / counterparty slice)
    over every entry dated on or before ``as_of``."""
    acc = _account(book, account)
    sql = (
        "SELECT coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0)"
        " FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id"
        " WHERE l.account_id = %s AND e.business_date <= %s"
    )
    params: list[Any] = [acc.pk, as_of]
    if program is not None:
        sql += " AND l.program = %s"
        params.append(program)
    if counterparty is not None:
        sql += " AND l.counterparty = %s"
        params.append(counterparty)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        debits, credits = cursor.fetchone()
    return AccountBalance(book=book, account=account, currency=acc.currency,
                          normal_balance=acc.normal_balance, debit_total=debits,
                          credit_total=credits)


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


_ACCOUNT_LINES = """
SELECT * FROM (
    SELECT l.id, e.id, e.business_date, e.idempotency_key, e.purpose, e.source_run,
           e.reverses_id, l.debit, l.credit, l.currency, l.program, l.counterparty, l.source,
           sum(CASE WHEN %(debit_normal)s THEN l.debit - l.credit ELSE l.credit - l.debit END)
               OVER (ORDER BY e.business_date, e.id, l.id) AS running_balance
      FROM ledger_journalline l
      JOIN ledger_journalentry e ON e.id = l.entry_id
     WHERE l.account_id = %(account_id)s AND e.business_date <= %(date_to)s
           {slice}
) t
WHERE t.business_date >= %(date_from)s
ORDER BY t.business_date, 2, 1
"""


def account_lines_list(
    *,
    book: str,
    account: str,
    date_from: date,
    date_to: date,
    program: str | None = None,
    counterparty: str | None = None,
) -> list[AccountLine]:
    """An account's lines dated between two dates (inclusive), oldest first, each with its
    entry, its ``source`` for drill-down and the running balance."""
    acc = _account(book, account)
    params: dict[str, Any] = {
        "account_id": acc.pk,
        "date_from": date_from,
        "date_to": date_to,
        "debit_normal": acc.normal_balance == DEBIT,
    }
    slice_sql = ""
    if program is not None:
        slice_sql += " AND l.program = %(program)s"
        params["program"] = program
    if counterparty is not None:
        slice_sql += " AND l.counterparty = %(counterparty)s"
        params["counterparty"] = counterparty
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNT_LINES.format(slice=slice_sql), params)
        return [AccountLine(*r) for r in cursor.fetchall()]


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
