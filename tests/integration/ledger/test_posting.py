"""journal_entries_post, journal_entry_reverse, period_close and the chart services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from ledger.domain.errors import (
    AlreadyReversed,
    DuplicateDraftKey,
    LedgerError,
    PeriodClosed,
    PeriodNotClosable,
    UnbalancedDraft,
    UnknownAccount,
    UnknownBook,
)
from ledger.models import Account, Book, JournalEntry, JournalLine, Period, PeriodStatus
from ledger.selectors import account_balance_get
from ledger.services import (
    chart_of_accounts_load,
    journal_entries_post,
    journal_entry_reverse,
    memo_book_ensure,
    period_close,
)

pytestmark = pytest.mark.django_db


def _snapshot():
    """Everything the ledger holds, ids included."""
    return (
        list(JournalEntry.objects.order_by("id").values_list(
            "id", "book_id", "business_date", "idempotency_key", "purpose", "source_run",
            "reverses_id")),
        list(JournalLine.objects.order_by("id").values_list(
            "id", "entry_id", "account_id", "debit", "credit", "currency", "program",
            "counterparty", "source")),
        list(Period.objects.order_by("id").values_list("id", "book_id", "start_date", "status")),
    )


def test_posts_entries_and_lines_in_a_constant_number_of_queries(gl, make_draft,
                                                                 django_assert_max_num_queries):
    drafts = [make_draft(f"k{i}", f"{i + 1}.00") for i in range(50)]
    with django_assert_max_num_queries(12):
        result = journal_entries_post(drafts=drafts)
    assert result.posted_count == 50 and result.skipped_count == 0
    assert result.line_count == 100
    assert set(result.entry_ids) == {f"k{i}" for i in range(50)}
    assert JournalLine.objects.count() == 100
    line = JournalLine.objects.get(entry__idempotency_key="k3", debit__gt=0)
    assert (line.account.code, line.debit, line.program, line.source) == (
        chart.LOANS_RECEIVABLE, Decimal("4.00"), "P1", "k3:dr")
    assert Period.objects.get().start_date == date(2026, 3, 1)


def test_same_batch_twice_leaves_the_ledger_as_after_the_first(gl, make_draft):
    """Acceptance 2."""
    drafts = [make_draft(f"batch-{i}", "10.00") for i in range(5)]
    first = journal_entries_post(drafts=drafts)
    after_first = _snapshot()
    second = journal_entries_post(drafts=drafts)
    assert _snapshot() == after_first
    assert second.posted_count == 0
    assert second.skipped_keys == tuple(f"batch-{i}" for i in range(5))
    assert first.posted_keys == second.skipped_keys


def test_overlapping_batch_posts_only_the_new_keys(gl, make_draft):
    journal_entries_post(drafts=[make_draft("a"), make_draft("b")])
    result = journal_entries_post(drafts=[make_draft("b"), make_draft("c")])
    assert result.posted_keys == ("c",) and result.skipped_keys == ("b",)
    assert JournalEntry.objects.count() == 3


def _bad_drafts(make_draft):
    good = make_draft("good-1")
    return {
        "unbalanced": (UnbalancedDraft, EntryDraft(
            book="BANK_GL", business_date=date(2026, 3, 2), idempotency_key="bad", purpose="X",
            lines=(LineDraft.dr("1301", Decimal("10.00")), LineDraft.cr("2241", Decimal("9.99"))),
        )),
        "unknown_account": (UnknownAccount, EntryDraft(
            book="BANK_GL", business_date=date(2026, 3, 2), idempotency_key="bad", purpose="X",
            lines=(LineDraft.dr("9999", Decimal("1.00")), LineDraft.cr("2241", Decimal("1.00"))),
        )),
        "unknown_book": (UnknownBook, make_draft("bad", book="NO_SUCH_BOOK")),
        "duplicate_key": (DuplicateDraftKey, good),
    }


@pytest.mark.parametrize("case", ["unbalanced", "unknown_account", "unknown_book",
                                  "duplicate_key"])
def test_one_bad_draft_writes_nothing(gl, make_draft, case):
    """Acceptance 3: the batch is all or nothing, and the error names the draft."""
    journal_entries_post(drafts=[make_draft("earlier")])
    before = _snapshot()
    error, bad = _bad_drafts(make_draft)[case]
    drafts = [make_draft("good-1"), make_draft("good-2", day=date(2026, 5, 5)), bad]
    with pytest.raises(error) as exc_info:
        journal_entries_post(drafts=drafts)
    assert isinstance(exc_info.value, LedgerError)
    assert exc_info.value.key in {"bad", "good-1"}
    assert exc_info.value.key in str(exc_info.value)
    assert _snapshot() == before


def test_draft_in_a_closed_period_writes_nothing(gl, make_draft):
    period_close(book="BANK_GL", period=date(2026, 2, 1))
    before = _snapshot()
    with pytest.raises(PeriodClosed, match="feb-entry"):
        journal_entries_post(drafts=[make_draft("march-ok"),
                                     make_draft("feb-entry", day=date(2026, 2, 27))])
    assert _snapshot() == before


def test_database_backstop_rolls_back_the_whole_batch(gl, make_draft, monkeypatch):
    """If the pure check were bypassed, the database still refuses and nothing is written."""
    import ledger.services as services

    monkeypatch.setattr(services, "drafts_check", lambda drafts: None)
    before = _snapshot()
    bad = EntryDraft(
        book="BANK_GL", business_date=date(2026, 3, 2), idempotency_key="bad", purpose="X",
        lines=(LineDraft.dr("1301", Decimal("10.00")), LineDraft.cr("2241", Decimal("9.99"))),
    )
    with pytest.raises(DatabaseError, match="does not balance"):
        journal_entries_post(drafts=[make_draft("good-1"), bad])
    assert _snapshot() == before


def test_posting_inside_an_outer_transaction_is_checked_inside_the_call(gl, make_draft):
    with transaction.atomic():
        result = journal_entries_post(drafts=[make_draft("inner")])
        assert result.posted_count == 1
        with connection.cursor() as c:  # nothing left pending for the deferred check
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_reverse_posts_the_mirror_and_is_idempotent(gl, make_draft):
    journal_entries_post(drafts=[make_draft("orig", "250.00")])
    original = JournalEntry.objects.get(idempotency_key="orig")
    rev = journal_entry_reverse(entry=original, business_date=date(2026, 3, 5),
                                idempotency_key="orig:rev")
    assert rev.reverses_id == original.pk and rev.business_date == date(2026, 3, 5)
    lines = sorted(rev.lines.values_list("account__code", "debit", "credit", "source"))
    assert lines == [("1301", Decimal("0"), Decimal("250.00"), "orig:dr"),
                     ("2241", Decimal("250.00"), Decimal("0"), "orig:cr")]
    assert account_balance_get(book="BANK_GL", account="1301",
                               as_of=date(2026, 3, 5)).balance == 0
    assert account_balance_get(book="BANK_GL", account="1301",
                               as_of=date(2026, 3, 4)).balance == Decimal("250.00")
    again = journal_entry_reverse(entry=original.pk, business_date=date(2026, 3, 5),
                                  idempotency_key="orig:rev")
    assert again.pk == rev.pk
    with pytest.raises(AlreadyReversed):
        journal_entry_reverse(entry=original, business_date=date(2026, 3, 6),
                              idempotency_key="orig:rev2")


def test_period_close_rules(gl, make_draft):
    journal_entries_post(drafts=[make_draft("jan", day=date(2026, 1, 10)),
                                 make_draft("feb", day=date(2026, 2, 10))])
    with pytest.raises(PeriodNotClosable, match="2026-01"):
        period_close(book="BANK_GL", period=date(2026, 2, 1))
    jan = period_close(book="BANK_GL", period=date(2026, 1, 31), closed_by="alice")
    assert (jan.start_date, jan.status, jan.closed_by) == (date(2026, 1, 1), "CLOSED", "alice")
    with pytest.raises(PeriodNotClosable, match="already closed"):
        period_close(book="BANK_GL", period=date(2026, 1, 1))
    period_close(book="BANK_GL", period=date(2026, 2, 1))
    # A month with no row, before the latest close, is closed too (a high-water mark).
    with pytest.raises(PeriodClosed):
        journal_entries_post(drafts=[make_draft("dec", day=date(2025, 12, 31))])
    journal_entries_post(drafts=[make_draft("mar", day=date(2026, 3, 1))])
    assert list(Period.objects.order_by("start_date").values_list("status", flat=True)) == [
        PeriodStatus.CLOSED, PeriodStatus.CLOSED, PeriodStatus.OPEN]


def test_chart_is_loaded_and_loading_is_idempotent(gl):
    codes = set(Account.objects.filter(book__code="BANK_GL").values_list("code", flat=True))
    assert codes == {a.code for a in chart.BANK_GL_ACCOUNTS}
    assert chart_of_accounts_load() == 0
    loans = Account.objects.get(book__code="BANK_GL", code=chart.LOANS_RECEIVABLE)
    assert (loans.key, loans.type, loans.normal_balance) == ("LOANS_RECEIVABLE", "ASSET", "DEBIT")
    assert Account.objects.get(book__code="BANK_GL", code=chart.OFF_BALANCE_INTEREST).off_balance


def test_memo_book_on_demand(gl, make_draft):
    book = memo_book_ensure(partner_code="alpha")
    assert book.code == "MEMO_ALPHA" and book.kind == "MEMO"
    assert memo_book_ensure(partner_code="ALPHA").pk == book.pk
    assert Account.objects.filter(book=book).count() == len(chart.MEMO_ACCOUNTS)
    result = journal_entries_post(drafts=[EntryDraft(
        book="MEMO_ALPHA", business_date=date(2026, 3, 2), idempotency_key="memo-1",
        purpose="DISBURSEMENT",
        lines=(LineDraft.dr(chart.LOANS_RECEIVABLE, Decimal("3000.00")),
               LineDraft.cr(chart.PARTNER_FUNDING, Decimal("3000.00"))),
    )])
    assert result.posted_count == 1
    assert Book.objects.filter(code__startswith="MEMO_").count() == 1


@pytest.mark.django_db(transaction=True)
def test_lines_cannot_be_added_to_an_entry_committed_earlier(committing_ledger, make_draft):
    journal_entries_post(drafts=[make_draft("committed")])  # autocommit: committed now
    entry = JournalEntry.objects.get(idempotency_key="committed")
    acc = dict(Account.objects.filter(book__code="BANK_GL").values_list("code", "id"))
    with pytest.raises(DatabaseError, match="earlier transaction"):
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency)"
                " VALUES (%s, %s, 7, 0, 'CNY'), (%s, %s, 0, 7, 'CNY')",
                [entry.pk, acc["1132"], entry.pk, acc["6011"]],
            )
    assert entry.lines.count() == 2


@pytest.mark.django_db(transaction=True)
def test_entry_without_lines_fails_at_commit(committing_ledger):
    book_id = Book.objects.get(code="BANK_GL").pk
    with pytest.raises(DatabaseError, match="has no lines"):
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "INSERT INTO ledger_journalentry (book_id, business_date, idempotency_key,"
                " purpose) VALUES (%s, '2026-03-02', 'empty', 'RAW')",
                [book_id],
            )
    assert not JournalEntry.objects.filter(idempotency_key="empty").exists()


@pytest.mark.django_db(transaction=True)
def test_unbalanced_draft_fails_even_when_committed_for_real(committing_ledger, make_draft):
    journal_entries_post(drafts=[make_draft("real-1")])
    assert JournalEntry.objects.filter(idempotency_key="real-1").exists()
    with pytest.raises(UnbalancedDraft):
        journal_entries_post(drafts=[EntryDraft(
            book="BANK_GL", business_date=date(2026, 3, 2), idempotency_key="real-bad",
            purpose="X",
            lines=(LineDraft.dr("1301", Decimal("1.00")), LineDraft.cr("2241", Decimal("2.00"))),
        )])
    assert JournalEntry.objects.count() == 1
