"""An account's balance and its lines: the questions asked of one account (optionally one
program / counterparty slice of it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from ledger.domain.chart import DEBIT
from ledger.domain.errors import LedgerError
from ledger.models import Account


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
