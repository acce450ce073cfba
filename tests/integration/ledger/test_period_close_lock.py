"""Issue 21, finding 5 (last part): `period_close` waits for open postings into the period.

Before: a raw INSERT of an entry into November, left uncommitted, did not hold back
`period_close` of November; the close committed and then the entry committed into the closed
period. Now the entry trigger and the close take one per-book lock (shared / exclusive): the
close waits for the open posting, and a posting during a close waits and is then refused.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.models import Account, JournalEntry, Period
from ledger.services import chart_of_accounts_load, period_close
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db(transaction=True)

NOV = date(2026, 11, 1)
WAIT = 1.5  # seconds a blocked side is watched before it is let go


@pytest.fixture
def book(transactional_db):
    chart_of_accounts_load()
    debit, credit = Account.objects.filter(book__code="BANK_GL", currency="CNY") \
        .order_by("code").values_list("pk", flat=True)[:2]
    yield debit, credit
    ledger_purge()


def _raw_entry(key: str, accounts) -> None:
    """A raw-SQL entry dated 2026-11-10 in BANK_GL, balanced (what the attacker wrote)."""
    debit, credit = accounts
    with connection.cursor() as cur:
        cur.execute("INSERT INTO ledger_journalentry (book_id, business_date, idempotency_key, "
                    "purpose) SELECT id, '2026-11-10', %s, 'RAW' FROM ledger_book "
                    "WHERE code = 'BANK_GL' RETURNING id", [key])
        entry = cur.fetchone()[0]
        cur.execute("INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, "
                    "currency) VALUES (%s, %s, 5.00, 0, 'CNY'), (%s, %s, 0, 5.00, 'CNY')",
                    [entry, debit, entry, credit])


class Side(threading.Thread):
    """Runs `fn` on its own database connection; records the outcome."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.error, self.finished_at = fn, None, None

    def run(self):
        try:
            self.fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            connection.close()


def test_the_close_waits_for_an_open_raw_posting(book):
    posted, go = threading.Event(), threading.Event()

    def poster():
        with transaction.atomic():
            _raw_entry("RAW-OPEN-1", book)
            posted.set()
            assert go.wait(30)
        # committed here

    poster_side = Side(poster)
    poster_side.start()
    assert posted.wait(30)
    closer = Side(lambda: period_close(book="BANK_GL", period=NOV, closed_by="fin"))
    closer.start()
    closer.join(WAIT)
    assert closer.is_alive(), "the close did not wait for the open posting"
    assert not Period.objects.filter(start_date=NOV, status="CLOSED").exists()
    go.set()
    poster_side.join(30)
    closer.join(30)
    assert poster_side.error is None and closer.error is None, (poster_side.error,
                                                                  closer.error)
    assert closer.finished_at >= poster_side.finished_at
    assert JournalEntry.objects.filter(idempotency_key="RAW-OPEN-1").exists()
    assert Period.objects.get(book__code="BANK_GL", start_date=NOV).status == "CLOSED"


def test_a_posting_during_a_close_waits_and_is_then_refused(book):
    closing, go = threading.Event(), threading.Event()

    def closer():
        with transaction.atomic():
            period_close(book="BANK_GL", period=NOV, closed_by="fin")
            closing.set()
            assert go.wait(30)

    closer_side = Side(closer)
    closer_side.start()
    assert closing.wait(30)

    def poster():
        with transaction.atomic():
            _raw_entry("RAW-LATE-1", book)

    poster_side = Side(poster)
    poster_side.start()
    poster_side.join(WAIT)
    assert poster_side.is_alive(), "the posting did not wait for the close"
    go.set()
    closer_side.join(30)
    poster_side.join(30)
    assert closer_side.error is None
    assert isinstance(poster_side.error, IntegrityError)
    assert "falls in a closed period" in str(poster_side.error)
    assert not JournalEntry.objects.filter(idempotency_key="RAW-LATE-1").exists()
