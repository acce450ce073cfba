"""Acceptance 1: the database itself refuses what would break the books, even from raw SQL and
COPY that go round the posting service."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger.models import Account, Book, JournalEntry, JournalLine, Period
from ledger.services import journal_entries_post, period_close

pytestmark = pytest.mark.django_db


def _ids(book_code="BANK_GL"):
    book = Book.objects.get(code=book_code)
    acc = dict(Account.objects.filter(book=book).values_list("code", "id"))
    return book.id, acc


def _raw_entry(cursor, book_id, key, day="2026-03-02"):
    cursor.execute(
        "INSERT INTO ledger_journalentry (book_id, business_date, idempotency_key, purpose,"
        " source_run, memo) VALUES (%s, %s, %s, 'RAW', '', '') RETURNING id",
        [book_id, day, key],
    )
    return cursor.fetchone()[0]


def _raw_line(cursor, entry_id, account_id, debit, credit, currency="CNY"):
    cursor.execute(
        "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency, program,"
        " counterparty, source) VALUES (%s, %s, %s, %s, %s, '', '', '')",
        [entry_id, account_id, debit, credit, currency],
    )


def _fire_deferred(cursor):
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_unbalanced_entry_by_raw_insert_is_refused(gl):
    book_id, acc = _ids()
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "raw-unbalanced")
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, %s, 100, 0, 'CNY'), (%s, %s, 0, 99.99, 'CNY')",
                [entry_id, acc["1301"], entry_id, acc["2241"]],
            )
    assert not JournalEntry.objects.filter(idempotency_key="raw-unbalanced").exists()


def test_unbalanced_entry_by_copy_is_refused(gl):
    book_id, acc = _ids()
    # psycopg's own cursor.copy() is not wrapped by Django: its IntegrityError is psycopg's.
    with pytest.raises(psycopg.IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "copy-unbalanced")
            with c.cursor.copy(
                "COPY ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " FROM STDIN"
            ) as copy:
                copy.write_row([entry_id, acc["1301"], "100.00", "0", "CNY"])
                copy.write_row([entry_id, acc["2241"], "0", "100.01", "CNY"])
    assert JournalLine.objects.count() == 0


def test_balanced_raw_sql_is_accepted(gl):
    """The guard refuses the bad, not the good: the same raw SQL, balanced, commits."""
    book_id, acc = _ids()
    with transaction.atomic(), connection.cursor() as c:
        entry_id = _raw_entry(c, book_id, "raw-balanced")
        c.execute(
            "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
            " VALUES (%s, %s, 100, 0, 'CNY'), (%s, %s, 0, 100, 'CNY')",
            [entry_id, acc["1301"], entry_id, acc["2241"]],
        )
        # A second statement may add more lines to this transaction's entry if they balance.
        c.execute(
            "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
            " VALUES (%s, %s, 5, 0, 'CNY'), (%s, %s, 0, 5, 'CNY')",
            [entry_id, acc["1132"], entry_id, acc["6011"]],
        )
        _fire_deferred(c)
    assert JournalLine.objects.filter(entry_id=entry_id).count() == 4


def test_each_statement_must_balance_its_lines(gl):
    """Lines inserted one at a time are refused: each statement's lines must balance per entry,
    so no later statement can upset an entry whose balance was already checked."""
    book_id, acc = _ids()
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "line-by-line")
            _raw_line(c, entry_id, acc["1301"], "100.00", "0")


def test_entry_unbalanced_in_one_currency_is_refused(gl):
    book = Book.objects.get(code="BANK_GL")
    usd = Account.objects.create(book=book, code="1001U", key="CASH_USD", name="Cash USD",
                                 type="ASSET", normal_balance="DEBIT", currency="USD")
    _, acc = _ids()
    with pytest.raises(IntegrityError, match="does not balance in"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book.id, "two-currencies")
            # CNY debit 100 against USD credit 100: the totals agree, the currencies do not.
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, %s, 100, 0, 'CNY'), (%s, %s, 0, 100, 'USD')",
                [entry_id, acc["1001"], entry_id, usd.id],
            )


def test_entry_without_lines_is_refused_at_commit(gl):
    book_id, _ = _ids()
    with pytest.raises(IntegrityError, match="has no lines"):
        with transaction.atomic(), connection.cursor() as c:
            _raw_entry(c, book_id, "no-lines")
            _fire_deferred(c)  # what COMMIT does


def test_line_with_both_sides_or_negative_is_refused(gl):
    book_id, acc = _ids()
    for debit, credit in [("10", "10"), ("0", "0"), ("-5", "0")]:
        with pytest.raises(IntegrityError, match="ledger_line_one_side"):
            with transaction.atomic(), connection.cursor() as c:
                entry_id = _raw_entry(c, book_id, f"sides-{debit}-{credit}")
                _raw_line(c, entry_id, acc["1301"], debit, credit)


def test_line_into_another_books_account_or_currency_is_refused(gl):
    from ledger.services import memo_book_ensure

    memo = memo_book_ensure(partner_code="alpha")
    memo_cash = Account.objects.get(book=memo, code="1001")
    book_id, acc = _ids()
    with pytest.raises(IntegrityError, match="belongs to another book"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "cross-book")
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, %s, 1, 0, 'CNY'), (%s, %s, 0, 1, 'CNY')",
                [entry_id, memo_cash.id, entry_id, acc["2241"]],
            )
    with pytest.raises(IntegrityError, match="is not account"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "wrong-currency")
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, %s, 1, 0, 'USD'), (%s, %s, 0, 1, 'USD')",
                [entry_id, acc["1301"], entry_id, acc["2241"]],
            )
    with pytest.raises(IntegrityError, match="does not exist"):
        with transaction.atomic(), connection.cursor() as c:
            entry_id = _raw_entry(c, book_id, "no-such-account")
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, 987654321, 1, 0, 'CNY'), (%s, %s, 0, 1, 'CNY')",
                [entry_id, entry_id, acc["2241"]],
            )


@pytest.fixture
def posted(gl, make_draft):
    journal_entries_post(drafts=[make_draft("posted-1")])
    return JournalEntry.objects.get(idempotency_key="posted-1")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_journalline SET debit = debit + 1 WHERE entry_id = %s",
        "UPDATE ledger_journalline SET program = 'X' WHERE entry_id = %s",
        "DELETE FROM ledger_journalline WHERE entry_id = %s",
        "UPDATE ledger_journalentry SET business_date = '2026-04-01' WHERE id = %s",
        "DELETE FROM ledger_journalentry WHERE id = %s",
    ],
)
@pytest.mark.db_owner  # the app role may not even try (tests/integration/controls)
def test_posted_rows_cannot_be_updated_or_deleted(posted, sql):
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as c:
            c.execute(sql, [posted.id])
    assert JournalLine.objects.filter(entry=posted).count() == 2


def test_orm_delete_is_refused_too(posted):
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            JournalLine.objects.filter(entry=posted).delete()


@pytest.mark.db_owner  # the app role may not even try (tests/integration/controls)
@pytest.mark.parametrize("table", ["ledger_journalline", "ledger_journalentry"])
def test_truncate_is_refused(posted, table):
    with pytest.raises(IntegrityError, match="TRUNCATE"):
        with transaction.atomic(), connection.cursor() as c:
            _fire_deferred(c)  # TRUNCATE refuses tables with pending (deferred) trigger events
            c.execute(f"TRUNCATE {table} CASCADE")
    assert JournalLine.objects.filter(entry=posted).count() == 2


@pytest.mark.db_owner  # the app role may not even try (tests/integration/controls)
def test_account_with_lines_cannot_be_deleted(posted):
    with pytest.raises(IntegrityError, match="has lines"):
        with transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM ledger_account WHERE id = %s", [_ids()[1]["1301"]])


def test_duplicate_idempotency_key_is_refused(posted):
    book_id, _ = _ids()
    with pytest.raises(IntegrityError, match="idempotency_key"):
        with transaction.atomic(), connection.cursor() as c:
            _raw_entry(c, book_id, "posted-1")


def test_posting_into_a_closed_period_is_refused(gl):
    period_close(book="BANK_GL", period=date(2026, 3, 1))
    book_id, _ = _ids()
    for day in ["2026-03-31", "2026-03-01", "2025-12-15"]:  # the closed month and before it
        with pytest.raises(IntegrityError, match="closed period"):
            with transaction.atomic(), connection.cursor() as c:
                _raw_entry(c, book_id, f"closed-{day}", day=day)
    with transaction.atomic(), connection.cursor() as c:  # the next month is open
        assert _raw_entry(c, book_id, "open-april", day="2026-04-01")
        transaction.set_rollback(True)


@pytest.mark.db_owner  # the app role may not even try (tests/integration/controls)
def test_closed_period_cannot_be_reopened_or_deleted(gl):
    period = period_close(book="BANK_GL", period=date(2026, 3, 1))
    with pytest.raises(IntegrityError, match="is closed"):
        with transaction.atomic():
            Period.objects.filter(pk=period.pk).update(status="OPEN", closed_at=None)
    with pytest.raises(IntegrityError, match="is closed"):
        with transaction.atomic():
            Period.objects.filter(pk=period.pk).delete()


@pytest.mark.parametrize("kind", ["SCRATCH", "BENCH", ""])
def test_a_book_of_a_kind_outside_the_products_is_refused(kind):
    """The ledger's book kinds are GENERAL and MEMO; a benchmark's or scratch kind is not one
    (issue 23: the SCRATCH kind left the product), raw SQL included."""
    with pytest.raises(IntegrityError, match="ledger_book_kind_valid"):
        with transaction.atomic(), connection.cursor() as c:
            c.execute("INSERT INTO ledger_book (code, name, kind) VALUES ('X', 'x', %s)",
                      [kind])
    assert Book.objects.create(code="X", name="x", kind="GENERAL").kind == "GENERAL"
