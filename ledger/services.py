"""Ledger writes. This module is the only writer of journal entries and lines.

Posting is set-based (CONVENTIONS "Batch code"): drafts are checked in pure code first, then
one transaction runs a fixed number of statements whatever the batch size — lock the books,
read their accounts and closed periods, upsert the periods posted into, one multi-row
``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING`` for the entries and one
``COPY … FROM STDIN`` for all their lines — and finally fires the deferred balance check.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from config import locks
from config.sql_literals import lit
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft, drafts_check, month_start
from ledger.domain.errors import (
    AlreadyReversed,
    InvalidDraft,
    LedgerError,
    PeriodClosed,
    PeriodNotClosable,
    UnknownAccount,
    UnknownBook,
)
from ledger.models import Account, Book, BookKind, JournalEntry, Period, PeriodStatus

__all__ = [
    "LedgerError",
    "PostingResult",
    "chart_of_accounts_load",
    "journal_entries_post",
    "journal_entry_reverse",
    "memo_book_ensure",
    "period_close",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostingResult:
    """What a call to journal_entries_post did: keys posted (with entry ids) and keys skipped
    because an entry with that idempotency key already existed."""

    posted_keys: tuple[str, ...] = ()
    skipped_keys: tuple[str, ...] = ()
    entry_ids: dict[str, int] = field(default_factory=dict)
    line_count: int = 0

    @property
    def posted_count(self) -> int:
        return len(self.posted_keys)

    @property
    def skipped_count(self) -> int:
        return len(self.skipped_keys)


# --- chart of accounts ------------------------------------------------------------------------


def _book_with_accounts(*, code: str, name: str, kind: str, specs: Iterable[chart.AccountSpec],
                        currency: str = chart.DEFAULT_CURRENCY) -> tuple[Book, int]:
    book, _ = Book.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    existing = set(Account.objects.filter(book=book).values_list("code", flat=True))
    missing = [
        Account(book=book, code=s.code, key=s.key, name=s.name, type=s.type,
                normal_balance=s.normal_balance, currency=currency, off_balance=s.off_balance)
        for s in specs
        if s.code not in existing
    ]
    Account.objects.bulk_create(missing, ignore_conflicts=True)
    return book, len(missing)


@transaction.atomic
def chart_of_accounts_load() -> int:
    """Create BANK_GL and any of its chart accounts that are missing; return how many were made.

    Idempotent: existing accounts are left as they are (names are not overwritten)."""
    _, created = _book_with_accounts(code=chart.BANK_GL, name="Bank general ledger",
                                     kind=BookKind.GENERAL, specs=chart.BANK_GL_ACCOUNTS)
    return created


@transaction.atomic
def memo_book_ensure(*, partner_code: str) -> Book:
    """The memo book ``MEMO_<PARTNERCODE>`` with its accounts, created if missing."""
    code = chart.memo_book_code(partner_code)
    book, _ = _book_with_accounts(code=code, name=f"Memo book of partner {partner_code.upper()}",
                                  kind=BookKind.MEMO, specs=chart.MEMO_ACCOUNTS)
    return book


# --- posting ----------------------------------------------------------------------------------

# Lines are sent to COPY in chunks of this many (about 4 MB of text): bounded memory for the
# buffer while keeping the number of round trips small.
COPY_CHUNK_LINES = 100_000

_LOCK_BOOKS = "SELECT id, code FROM ledger_book WHERE code = ANY(%s) ORDER BY id FOR SHARE"
_ACCOUNTS = (
    "SELECT book_id, code, id, currency, is_active FROM ledger_account WHERE book_id = ANY(%s)"
)
_CLOSED_THROUGH = (
    "SELECT book_id, max(start_date) FROM ledger_period"
    f" WHERE status = {lit(PeriodStatus.CLOSED)} AND book_id = ANY(%s) GROUP BY book_id"
)
_ENSURE_PERIODS = (
    "INSERT INTO ledger_period (book_id, start_date, status, closed_by)"
    f" SELECT b, d, {lit(PeriodStatus.OPEN)}, '' FROM unnest(%s::bigint[], %s::date[]) AS t(b, d)"
    " ON CONFLICT (book_id, start_date) DO NOTHING"
)
_INSERT_ENTRIES = (
    "INSERT INTO ledger_journalentry"
    " (book_id, business_date, idempotency_key, purpose, source_run, memo, reverses_id)"
    " SELECT * FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::text[], %s::text[],"
    " %s::text[], %s::bigint[])"
    " ON CONFLICT (idempotency_key) DO NOTHING"
    " RETURNING id, idempotency_key"
)
_COPY_LINES = (
    "COPY ledger_journalline"
    " (entry_id, account_id, debit, credit, currency, program, counterparty, source)"
    " FROM STDIN"
)


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str) -> str:
    """Escape a text value for COPY's text format."""
    if not value or _COPY_SPECIAL.search(value) is None:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _step(name: str, started: float, rows: int) -> None:
    logger.info("ledger.post %s rows=%d ms=%.1f", name, rows, (time.perf_counter() - started) * 1e3)


def journal_entries_post(*, drafts: Sequence[EntryDraft]) -> PostingResult:
    """Post many balanced entries in one transaction; skip (and report) keys already posted."""
    drafts = list(drafts)
    drafts_check(drafts)  # pure: shapes, amounts, balance per currency, duplicate keys
    if not drafts:
        return PostingResult()
    with transaction.atomic(), connection.cursor() as cursor:
        t0 = time.perf_counter()
        book_codes = sorted({d.book for d in drafts})
        cursor.execute(_LOCK_BOOKS, [book_codes])
        book_ids = {code: pk for pk, code in cursor.fetchall()}
        for d in drafts:
            if d.book not in book_ids:
                raise UnknownBook(d.idempotency_key, f"book {d.book!r} does not exist")
        ids = list(book_ids.values())
        cursor.execute(_ACCOUNTS, [ids])
        accounts = {(b, code): (pk, cur, active) for b, code, pk, cur, active in cursor.fetchall()}
        cursor.execute(_CLOSED_THROUGH, [ids])
        closed_through = dict(cursor.fetchall())
        _step("read", t0, len(accounts))

        # Resolve accounts and check periods before writing anything.
        resolved: list[tuple[EntryDraft, int, list[int]]] = []
        months: set[tuple[int, date]] = set()
        for d in drafts:
            book_id = book_ids[d.book]
            last_closed = closed_through.get(book_id)
            month = month_start(d.business_date)
            if last_closed is not None and month <= last_closed:
                raise PeriodClosed(
                    d.idempotency_key,
                    f"business date {d.business_date} is in a closed period of {d.book}"
                    f" (closed through {last_closed:%Y-%m})",
                )
            account_ids = []
            for line in d.lines:
                found = accounts.get((book_id, line.account))
                if found is None or not found[2]:
                    state = "unknown" if found is None else "inactive"
                    raise UnknownAccount(
                        d.idempotency_key, f"account {line.account!r} is {state} in {d.book}"
                    )
                if found[1] != line.currency:
                    raise InvalidDraft(
                        d.idempotency_key,
                        f"line currency {line.currency} differs from account {line.account}'s"
                        f" currency {found[1]}",
                    )
                account_ids.append(found[0])
            resolved.append((d, book_id, account_ids))
            months.add((book_id, month))

        t0 = time.perf_counter()
        cursor.execute(_ENSURE_PERIODS, [[b for b, _ in months], [m for _, m in months]])
        _step("periods", t0, len(months))

        t0 = time.perf_counter()
        cursor.execute(
            _INSERT_ENTRIES,
            [
                [b for _, b, _ in resolved],
                [d.business_date for d, _, _ in resolved],
                [d.idempotency_key for d, _, _ in resolved],
                [d.purpose for d, _, _ in resolved],
                [d.source_run for d, _, _ in resolved],
                [d.memo for d, _, _ in resolved],
                [d.reverses_id for d, _, _ in resolved],
            ],
        )
        entry_ids = {key: pk for pk, key in cursor.fetchall()}
        _step("entries", t0, len(entry_ids))

        t0 = time.perf_counter()
        line_count = 0
        dims: dict[str, str] = {}  # program / counterparty codes repeat: escape each once
        with connection.wrap_database_errors, cursor.cursor.copy(_COPY_LINES) as copy:
            chunk: list[str] = []
            for d, _, account_ids in resolved:
                entry_id = entry_ids.get(d.idempotency_key)
                if entry_id is None:
                    continue
                prefix = f"{entry_id}\t"
                for line, account_id in zip(d.lines, account_ids, strict=True):
                    program = dims.get(line.program)
                    if program is None:
                        program = dims[line.program] = _copy_text(line.program)
                    counterparty = dims.get(line.counterparty)
                    if counterparty is None:
                        counterparty = dims[line.counterparty] = _copy_text(line.counterparty)
                    chunk.append(
                        "".join((prefix, str(account_id), "\t", str(line.debit), "\t",
                                 str(line.credit), "\t", line.currency, "\t", program, "\t",
                                 counterparty, "\t", _copy_text(line.source), "\n"))
                    )
                line_count += len(d.lines)
                if len(chunk) >= COPY_CHUNK_LINES:
                    copy.write("".join(chunk))
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))
        _step("lines", t0, line_count)

        # Fire the deferred per-entry balance check now, so a failure surfaces in this call
        # (and inside an enclosing transaction), then restore the default.
        t0 = time.perf_counter()
        cursor.execute("SET CONSTRAINTS ledger_entry_balanced IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ledger_entry_balanced DEFERRED")
        _step("balance_check", t0, len(entry_ids))

    posted = tuple(d.idempotency_key for d in drafts if d.idempotency_key in entry_ids)
    skipped = tuple(d.idempotency_key for d in drafts if d.idempotency_key not in entry_ids)
    if skipped:
        logger.info("ledger.post skipped %d already-posted keys", len(skipped))
    return PostingResult(posted_keys=posted, skipped_keys=skipped, entry_ids=entry_ids,
                         line_count=line_count)


def journal_entry_reverse(
    *,
    entry: JournalEntry | int,
    business_date: date,
    idempotency_key: str,
    purpose: str = "REVERSAL",
    source_run: str = "",
) -> JournalEntry:
    """Post the mirror image of an entry, linked by ``reverses``; a retry with the same key
    returns the reversal already posted."""
    entry_id = entry.pk if isinstance(entry, JournalEntry) else entry
    with transaction.atomic():
        existing = (
            JournalEntry.objects.filter(idempotency_key=idempotency_key).order_by("pk").first()
        )
        if existing is not None and existing.reverses_id == entry_id:
            return existing
        original = JournalEntry.objects.select_related("book").get(pk=entry_id)
        already = JournalEntry.objects.filter(reverses_id=entry_id).order_by("pk").first()
        if already is not None:
            raise AlreadyReversed(
                f"entry {entry_id} ({original.idempotency_key}) is already reversed by entry"
                f" {already.pk} ({already.idempotency_key})"
            )
        lines = tuple(
            LineDraft(
                account=code, debit=credit, credit=debit, currency=currency, program=program,
                counterparty=counterparty, source=source,
            )
            for code, debit, credit, currency, program, counterparty, source in (
                original.lines.order_by("id").values_list(
                    "account__code", "debit", "credit", "currency", "program",
                    "counterparty", "source",
                )
            )
        )
        draft = EntryDraft(
            book=original.book.code,
            business_date=business_date,
            idempotency_key=idempotency_key,
            purpose=purpose,
            lines=lines,
            source_run=source_run,
            memo=f"reversal of entry {original.pk} ({original.idempotency_key})",
            reverses_id=original.pk,
        )
        result = journal_entries_post(drafts=[draft])
        if result.skipped_count:
            raise InvalidDraft(idempotency_key, "key already used by an entry that is not this "
                                                f"reversal of entry {entry_id}")
        return JournalEntry.objects.get(pk=result.entry_ids[idempotency_key])


# --- periods ----------------------------------------------------------------------------------


def period_close(*, book: str, period: date, closed_by: str = "") -> Period:
    """Close the month containing ``period`` in ``book``; every earlier period must be closed.

    After this nothing can be dated on or before the month's last day in that book."""
    start = month_start(period)
    with transaction.atomic():
        book_id = Book.objects.filter(code=book).values_list("pk", flat=True).first()
        if book_id is None:
            raise PeriodNotClosable(f"book {book!r} does not exist")
        # Wait for every open transaction that inserted an entry into the book (their entry
        # trigger holds this lock shared until they end), and hold back new ones until this
        # close commits: nothing commits into a period after its close. Taken before the
        # book's row lock, which a posting's deferred foreign-key check needs at its commit.
        locks.xact(locks.LEDGER_PERIOD, book_id)
        book_obj = Book.objects.select_for_update().get(pk=book_id)
        still_open = list(
            Period.objects.filter(book=book_obj, start_date__lt=start, status=PeriodStatus.OPEN)
            .order_by("start_date")
            .values_list("start_date", flat=True)
        )
        if still_open:
            months = ", ".join(f"{d:%Y-%m}" for d in still_open)
            raise PeriodNotClosable(
                f"cannot close {book} {start:%Y-%m}: earlier periods still open: {months}"
            )
        obj, _ = Period.objects.get_or_create(book=book_obj, start_date=start)
        if obj.status == PeriodStatus.CLOSED:
            raise PeriodNotClosable(f"{book} {start:%Y-%m} is already closed")
        obj.status = PeriodStatus.CLOSED
        obj.closed_at = timezone.now()
        obj.closed_by = closed_by
        obj.save(update_fields=["status", "closed_at", "closed_by"])
    return obj
