"""Ledger reads. Aggregates are computed by PostgreSQL, never by looping over lines in Python."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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


# --- Balances by dimension: the questions the settlement asks of the GL (issue 23) -------------
# Each takes plain codes and keys and answers with plain dicts; the caller owns what the program
# and counterparty dimensions and the source-run keys mean.

_LINES = """FROM ledger_journalline l
  JOIN ledger_journalentry e ON e.id = l.entry_id
  JOIN ledger_account a ON a.id = l.account_id
  JOIN ledger_book b ON b.id = e.book_id"""


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def balances_by_book_account_program(
    *,
    accounts: Sequence[str],
    as_of: date,
    programs: Sequence[str] | None = None,
    program_prefix: str | None = None,
) -> dict[tuple[str, str, str], Decimal]:
    """(book, account, program) → debit − credit over every entry dated ≤ ``as_of``, in every
    book, on the given account codes; only the given programs and / or the programs starting
    with ``program_prefix``. Slices with no line are absent."""
    sql = (f"SELECT b.code, a.code, l.program, SUM(l.debit) - SUM(l.credit) {_LINES}"
           " WHERE a.code = ANY(%(accounts)s) AND e.business_date <= %(as_of)s")
    params: dict[str, Any] = {"accounts": list(accounts), "as_of": as_of}
    if programs is not None:
        sql += " AND l.program = ANY(%(programs)s)"
        params["programs"] = list(programs)
    if program_prefix is not None:
        sql += " AND l.program LIKE %(prefix)s"
        params["prefix"] = _like_prefix(program_prefix)
    with connection.cursor() as cursor:
        cursor.execute(sql + " GROUP BY 1, 2, 3", params)
        return {(b, a, p): v for b, a, p, v in cursor.fetchall()}


def counterparty_balances_by_account_program(
    *,
    book: str,
    counterparty: str,
    accounts: Sequence[str],
    source_run: str | None = None,
    as_of: date | None = None,
) -> dict[tuple[str, str], Decimal]:
    """(account, program) → debit − credit of a counterparty's lines in one book on the given
    account codes: every entry, or only those of one ``source_run`` and / or dated ≤ ``as_of``.
    Slices with no line are absent."""
    sql = (f"SELECT a.code, l.program, SUM(l.debit - l.credit) {_LINES}"
           " WHERE b.code = %(book)s AND l.counterparty = %(counterparty)s"
           " AND a.code = ANY(%(accounts)s)")
    params: dict[str, Any] = {"book": book, "counterparty": counterparty,
                              "accounts": list(accounts)}
    if source_run is not None:
        sql += " AND e.source_run = %(source_run)s"
        params["source_run"] = source_run
    if as_of is not None:
        sql += " AND e.business_date <= %(as_of)s"
        params["as_of"] = as_of
    with connection.cursor() as cursor:
        cursor.execute(sql + " GROUP BY 1, 2 ORDER BY 1, 2", params)
        return {(a, p): v for a, p, v in cursor.fetchall()}


def balances_by_source_run(
    *, book: str, accounts: Sequence[str], source_runs: Sequence[str]
) -> dict[str, Decimal]:
    """source run → debit − credit of the lines its entries posted in one book on the given
    account codes. Runs that posted nothing there are absent."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.source_run, SUM(l.debit - l.credit) {_LINES}"
            " WHERE b.code = %s AND a.code = ANY(%s) AND e.source_run = ANY(%s) GROUP BY 1",
            [book, list(accounts), list(source_runs)])
        return dict(cursor.fetchall())


def line_sources_list(*, business_date: date, source_run_like: str) -> list[str]:
    """The distinct ``source`` of the lines of the entries dated ``business_date`` whose
    ``source_run`` matches the LIKE pattern ``source_run_like``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT l.source FROM ledger_journalentry e"
            " JOIN ledger_journalline l ON l.entry_id = e.id"
            " WHERE e.business_date = %s AND e.source_run LIKE %s ORDER BY 1",
            [business_date, source_run_like])
        return [s for (s,) in cursor.fetchall()]


_CANONICAL_LINES = """
SELECT e.idempotency_key, b.code, e.purpose, a.code, l.program, l.counterparty,
       CASE WHEN m.source IS NULL THEN l.source ELSE m.label END, l.debit, l.credit, l.currency
  FROM ledger_journalentry e
  JOIN ledger_journalline l ON l.entry_id = e.id
  JOIN ledger_book b ON b.id = e.book_id
  JOIN ledger_account a ON a.id = l.account_id
  LEFT JOIN unnest(%(sources)s::text[], %(labels)s::text[]) AS m(source, label)
         ON m.source = l.source
 WHERE e.business_date = %(day)s AND e.source_run LIKE %(like)s
 ORDER BY 1, 4, 5, 6, 7, 8, 9"""


def lines_canonical_list(
    *, business_date: date, source_run_like: str,
    source_labels: Mapping[str, str | None] | None = None,
) -> list[tuple[Any, ...]]:
    """Every line of the entries dated ``business_date`` whose ``source_run`` matches the LIKE
    pattern, with no ids and no times, in a canonical order: (idempotency key, book, purpose,
    account, program, counterparty, source, debit, credit, currency) ordered by key, account,
    program, counterparty, source, debit, credit. A source in ``source_labels`` reads as its
    label (None: NULL), so a caller can drop what in its sources depends on row ids."""
    labels = source_labels or {}
    with connection.cursor() as cursor:
        cursor.execute(_CANONICAL_LINES, {"sources": list(labels), "labels": list(labels.values()),
                                          "day": business_date, "like": source_run_like})
        return cursor.fetchall()
