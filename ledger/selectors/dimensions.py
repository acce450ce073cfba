"""Balances by dimension: the questions the settlement asks of the GL (issue 23).

Each takes plain codes and keys and answers with plain dicts; the caller owns what the program
and counterparty dimensions and the source-run keys mean."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

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
