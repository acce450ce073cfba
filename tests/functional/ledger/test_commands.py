"""Finance runs the ledger commands: trial balance, check, benchmark."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import checks
from ledger.domain import chart
from ledger.models import Account, Book, JournalEntry, JournalLine

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_trial_balance_as_table(posted_gl):
    out = _run("trial_balance", "--book", "BANK_GL", "--date", "2026-03-03", "--nonzero")
    assert "1301" in out and "1,000.00" in out and "balanced" in out
    assert "TOTAL" in out and "1,000.50" in out


def test_trial_balance_as_csv_and_json_as_of_a_date(posted_gl):
    rows = list(csv.DictReader(io.StringIO(
        _run("trial_balance", "--book", "BANK_GL", "--date", "2026-03-02", "--format", "csv"))))
    by_code = {r["code"]: r for r in rows}
    assert by_code["1301"]["debit_balance"] == "1000.00"
    assert by_code["1132"]["debit_balance"] == "0.00"  # the accrual is dated 03-03
    data = json.loads(_run("trial_balance", "--book", "BANK_GL", "--date", "2026-03-03",
                           "--format", "json"))
    assert data["balanced"] is True
    assert data["totals"] == {"CNY": {"debit_balance": "1000.50", "credit_balance": "1000.50"}}


def test_trial_balance_of_an_unknown_book_is_an_error(posted_gl):
    with pytest.raises(CommandError, match="NOPE"):
        _run("trial_balance", "--book", "NOPE", "--date", "2026-03-03")


def test_check_ledger_passes_on_a_sound_ledger(posted_gl):
    assert "ledger OK" in _run("check_ledger", "--date", "2026-03-31")


@pytest.fixture
def failing_check():
    def always_wrong(*, as_of=None):
        return [f"sub-ledger differs from GL as of {as_of}"]

    checks.register(always_wrong, name="test.always_wrong")
    yield
    checks.unregister("test.always_wrong")


def test_check_ledger_runs_registered_checks_and_fails(posted_gl, failing_check):
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_ledger", "--date", "2026-03-31", stdout=io.StringIO(), stderr=err)
    assert exc.value.returncode == 1
    assert "[test.always_wrong] sub-ledger differs from GL as of 2026-03-31" in err.getvalue()


@pytest.mark.db_owner  # the superuser owner: the application role may not switch triggers off
def test_check_ledger_finds_an_entry_smuggled_past_the_triggers(posted_gl):
    """Only a superuser disabling triggers can do this; the check still sees it."""
    entry = JournalEntry.objects.get(idempotency_key="f:acc")
    account = Account.objects.get(book__code="BANK_GL", code="1132")
    with connection.cursor() as c:
        c.execute("SET LOCAL session_replication_role = replica")
        JournalLine.objects.create(entry=entry, account=account, debit=1, credit=0,
                                   currency="CNY")
        c.execute("SET LOCAL session_replication_role = origin")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=io.StringIO(), stderr=err)
    assert "f:acc" in err.getvalue() and "does not balance" in err.getvalue()
    assert "trial balance of BANK_GL in CNY does not hold" in err.getvalue()


def test_bench_ledger_small_run(db):
    out = _run("bench_ledger", "--entries", "20", "--lines-per-entry", "10", "--rollback")
    assert "entries=20 lines=200" in out and "lines_per_s=" in out and "peak_rss_mb=" in out
    assert not JournalEntry.objects.filter(purpose="BENCH").exists()
    # its book is a GENERAL book of the benchmarks' code: the ledger has no benchmark kind
    book = Book.objects.get(code="BENCH_SCRATCH")
    assert (book.kind, book.accounts.count()) == ("GENERAL", len(chart.CHART))
