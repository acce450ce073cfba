"""Amount differences within a program's tolerance: cleared into the partner's rounding account.

The breaks are AUTO_CLEARED and linked to one entry per program and day in MEMO_<partner>
(6903 ROUNDING against 3001 PARTNER_FUNDING); the bank's GL and every receivable are untouched;
beyond the tolerance nothing is posted and the break stays open. The account holds the standing
differences of the latest reconciled date (a delta, as the accruals are set)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.domain import chart
from ledger.models import JournalEntry, JournalLine
from lending.models import Break, ReconciliationTolerance
from lending.reconciliation import rounding, services
from tests.factories import lending as f
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D1, D2, D3 = date(2026, 6, 16), date(2026, 6, 17), date(2026, 6, 18)
# our interest on D1: 15/30 of 100.00; D2: 16/30 = 53.33; D3: 17/30 = 56.67
INTEREST = {D1: "50.00", D2: "53.33", D3: "56.67"}


@pytest.fixture
def book():
    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["A", "B", "C"])
    return platform, program


def _rows(day: date, **interest_delta: str) -> list[rf.BalanceRow]:
    """Their file: every loan as ours, but interest + the given delta (e.g. A="0.01")."""
    out = []
    for no in ["A", "B", "C"]:
        interest = Decimal(INTEREST[day]) + Decimal(interest_delta.get(no, "0"))
        out.append((no, "10000.00", f"{interest:.2f}", "0.00", 0, "ACTIVE"))
    return out


def _rounding_entries() -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(purpose=rounding.PURPOSE).order_by("pk"))


def _held(book_code: str = "MEMO_ALPHA") -> Decimal:
    """Credit balance of 6903 in the book (what the rounding account holds)."""
    with connection.cursor() as cur:
        cur.execute("""SELECT coalesce(sum(l.credit - l.debit), 0) FROM ledger_journalline l
                         JOIN ledger_account a ON a.id = l.account_id
                         JOIN ledger_book b ON b.id = a.book_id
                        WHERE b.code = %s AND a.code = %s""", [book_code, chart.ROUNDING])
        return cur.fetchone()[0]


def _lines(entry: JournalEntry) -> set[tuple]:
    return set(JournalLine.objects.filter(entry=entry).values_list(
        "account__code", "debit", "credit", "program", "source"))


def test_differences_within_the_tolerance_post_one_rounding_entry_per_program(book):
    platform, program = book
    rf.balances_file(platform, D1, _rows(D1, A="0.01", B="0.01"))

    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    assert result.within_tolerance == 2 and result.rounding_entries == 1
    (entry,) = _rounding_entries()
    assert entry.book.code == "MEMO_ALPHA" and entry.business_date == D1
    dim = f"ALPHA/{program.code}"
    assert _lines(entry) == {
        (chart.ROUNDING, Decimal("0.00"), Decimal("0.02"), dim, "rounding:INTEREST"),
        (chart.PARTNER_FUNDING, Decimal("0.02"), Decimal("0.00"), dim, "rounding:INTEREST"),
    }  # Σ of the two loans' differences, never a line per loan
    for b in Break.objects.all():
        assert (b.status, b.rounding_entry_id) == ("AUTO_CLEARED", entry.pk)
        assert b.resolution_note == (f"within tolerance 0.01: cleared into rounding 6903 of "
                                     f"MEMO_ALPHA (entry #{entry.pk})")
    # the bank's own book and every receivable are untouched: the sub-ledger is the record
    assert not JournalLine.objects.filter(
        entry__purpose=rounding.PURPOSE,
        account__code__in=[chart.LOANS_RECEIVABLE, chart.INTEREST_RECEIVABLE,
                           chart.PENALTY_RECEIVABLE]).exists()
    assert not JournalEntry.objects.filter(book__code=chart.BANK_GL).exists()


def test_a_difference_beyond_the_tolerance_stays_open_and_posts_nothing(book):
    platform, _ = book
    rf.balances_file(platform, D1, _rows(D1, A="0.02"))

    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    assert result.within_tolerance == 0 and result.rounding_entries == 0
    b = Break.objects.get()
    assert (b.status, b.difference, b.rounding_entry_id, b.resolution_note) == (
        "OPEN", Decimal("0.02"), None, "")
    assert _rounding_entries() == []


def test_the_programs_own_tolerance_decides_both_ways(book):
    platform, program = book
    rounding.tolerance_set(program=program, amount_tolerance="0.05", note="monthly engine")
    rf.balances_file(platform, D1, _rows(D1, A="0.05", B="-0.06"))

    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    a, b = Break.objects.get(loan_no="A"), Break.objects.get(loan_no="B")
    assert (a.status, b.status) == ("AUTO_CLEARED", "OPEN")
    assert a.resolution_note.startswith("within tolerance 0.05: cleared into rounding")
    assert _held() == Decimal("0.05")


def test_a_zero_tolerance_clears_nothing(book):
    platform, program = book
    rounding.tolerance_set(program=program, amount_tolerance="0")
    rf.balances_file(platform, D1, _rows(D1, A="0.01"))

    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    assert Break.objects.get().status == "OPEN"
    assert _rounding_entries() == []


def test_the_account_holds_the_standing_differences_of_the_latest_date(book):
    platform, _ = book
    rf.balances_file(platform, D1, _rows(D1, A="0.01", B="0.01"))
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    again = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    assert again.rounding_entries == 0 and len(_rounding_entries()) == 1

    # D2: the same differences stand: nothing posted again, the breaks link the D1 entry
    rf.balances_file(platform, D2, _rows(D2, A="0.01", B="0.01"))
    assert services.breaks_reconcile(partner_id=platform.pk,
                                     business_date=D2).rounding_entries == 0
    d1_entry = _rounding_entries()[0]
    assert set(Break.objects.filter(business_date=D2).values_list(
        "rounding_entry_id", flat=True)) == {d1_entry.pk}
    assert _held() == Decimal("0.02")

    # D3: the partner corrected B, and C is 0.01 below ours: B's 0.01 released, C's taken
    rf.balances_file(platform, D3, _rows(D3, A="0.01", C="-0.01"))
    assert services.breaks_reconcile(partner_id=platform.pk,
                                     business_date=D3).rounding_entries == 1
    d3_entry = _rounding_entries()[-1]
    assert d3_entry.business_date == D3
    assert {(a, d, c) for a, d, c, _p, _s in _lines(d3_entry)} == {
        (chart.ROUNDING, Decimal("0.02"), Decimal("0.00")),
        (chart.PARTNER_FUNDING, Decimal("0.00"), Decimal("0.02"))}
    assert _held() == Decimal("0.00")  # +0.01 (A) − 0.01 (C)

    # rerunning an older date after a later one posts nothing: the later date set the level
    assert services.breaks_reconcile(partner_id=platform.pk,
                                     business_date=D2).rounding_entries == 0
    assert _held() == Decimal("0.00")


def test_two_programs_post_one_entry_each(book):
    platform, program = book
    version = program.agreement.versions.get()
    other = f.program(code="ALPHA2", version=version, max_principal=Decimal("50000"))
    rf.loans(other, ["X"])
    rows = _rows(D1, A="0.01") + [("X", "10000.00", "49.99", "0.00", 0, "ACTIVE")]
    rf.balances_file(platform, D1, rows)

    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    entries = _rounding_entries()
    assert sorted(e.idempotency_key.split(":")[3] for e in entries) == ["ALPHA1", "ALPHA2"]
    assert _held() == Decimal("0.00")  # +0.01 in one program, −0.01 in the other
    x = Break.objects.get(loan_no="X")
    assert x.rounding_entry_id == next(e.pk for e in entries if "ALPHA2" in e.idempotency_key)


@pytest.mark.parametrize("bad", ["-0.01", "1.01", "abc", "0.001", "NaN"])
def test_a_tolerance_outside_0_to_1_yuan_is_refused(book, bad):
    _, program = book
    with pytest.raises(rounding.ToleranceError):
        rounding.tolerance_set(program=program, amount_tolerance=bad)
    assert not ReconciliationTolerance.objects.exists()


def test_the_database_refuses_a_tolerance_beyond_one_yuan(book):
    _, program = book
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconciliationTolerance.objects.create(program=program, amount_tolerance=Decimal("2"))
