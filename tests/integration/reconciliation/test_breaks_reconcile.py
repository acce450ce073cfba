"""breaks_reconcile: the partner's balances file against our positions, set-based, idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from lending.models import Break, Loan, Reconciliation, StagedBalance
from lending.reconciliation import services
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D1 = date(2026, 6, 16)  # 15 of the first period's 30 days: interest accrued 50.00 of 100.00
D2 = date(2026, 6, 17)


def _snapshot() -> list[tuple]:
    return list(Break.objects.order_by("pk").values_list(
        "pk", "loan_no", "kind", "field", "ours", "theirs", "difference", "status",
        "business_date", "last_seen_on", "resolution_note", "resolved_at"))


@pytest.fixture
def book():
    platform, program = rf.platform_with_program("ALPHA")
    rf.loans(program, ["OK", "TOL", "PRIN", "STAT", "DPD", "GONE", "CLOSED"])
    Loan.objects.filter(loan_no="CLOSED").update(state="PAID_OFF")
    return platform, program


def _their_rows(**changes) -> list[rf.BalanceRow]:
    base = {no: (no, "10000.00", "50.00", "0.00", 0, "ACTIVE")
            for no in ["OK", "TOL", "PRIN", "STAT", "DPD", "GHOST"]}
    for no, row in changes.items():
        base[no] = row
    return [r for r in base.values() if r is not None]


DAY1 = dict(
    TOL=("TOL", "10000.00", "50.01", "0.00", 0, "ACTIVE"),
    PRIN=("PRIN", "9995.00", "50.00", "0.00", 0, "ACTIVE"),
    STAT=("STAT", "10000.00", "50.00", "0.00", 0, "OVERDUE"),
    DPD=("DPD", "10000.00", "50.00", "0.00", 3, "ACTIVE"),
)


def test_positions_are_what_the_cases_assume(book):
    with connection.cursor() as cur:
        cur.execute("SELECT sum(p.principal), sum(p.interest), sum(p.penalty + p.compound) "
                    "FROM lending_share_positions(%s, %s) p JOIN lending_loan l "
                    "ON l.id = p.loan_id WHERE l.loan_no = 'OK'", [D1, book[0].pk])
        assert cur.fetchone() == (Decimal("10000.00"), Decimal("50.00"), Decimal("0.00"))


def test_each_kind_of_break_and_the_tolerance(book):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(**DAY1))

    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    assert result.by_kind == {"AMOUNT_MISMATCH": 1, "STATUS_MISMATCH": 1, "DPD_MISMATCH": 1,
                              "MISSING_AT_BANK": 1, "MISSING_AT_PARTNER": 1}
    assert result.within_tolerance == 1 and result.opened == 6 and result.auto_cleared == 0
    assert result.their_rows == 6 and result.our_loans == 7 and result.applied_rows == 6
    got = {(b.loan_no, b.kind, b.field): (b.ours, b.theirs, b.difference, b.status)
           for b in Break.objects.all()}
    assert got == {
        ("TOL", "AMOUNT_MISMATCH", "INTEREST"): ("50.00", "50.01", Decimal("0.01"),
                                                 "AUTO_CLEARED"),
        ("PRIN", "AMOUNT_MISMATCH", "PRINCIPAL"): ("10000.00", "9995.00", Decimal("-5.00"),
                                                   "OPEN"),
        ("STAT", "STATUS_MISMATCH", ""): ("ACTIVE", "OVERDUE", None, "OPEN"),
        ("DPD", "DPD_MISMATCH", ""): ("0", "3", Decimal("3"), "OPEN"),
        ("GHOST", "MISSING_AT_BANK", ""): ("", "10000.00", Decimal("10000.00"), "OPEN"),
        ("GONE", "MISSING_AT_PARTNER", ""): ("10000.00", "", Decimal("-10000.00"), "OPEN"),
    }  # CLOSED (paid off, absent from their file) and OK are no break
    assert Break.objects.get(loan_no="PRIN").loan.loan_no == "PRIN"
    assert Break.objects.get(loan_no="GHOST").loan is None
    record = Reconciliation.objects.get(partner=platform, business_date=D1)
    assert record.their_rows == StagedBalance.objects.count()
    assert record.differences == {"AMOUNT_MISMATCH": 1, "STATUS_MISMATCH": 1, "DPD_MISMATCH": 1,
                                  "MISSING_AT_BANK": 1, "MISSING_AT_PARTNER": 1}
    assert all(b.business_date == b.last_seen_on == D1 for b in Break.objects.all())


def test_a_penalty_the_bank_does_not_have_is_a_break(book):
    # OK has no penalty at the bank; the partner reports 12.34 (over the tolerance).
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(OK=("OK", "10000.00", "50.00", "12.34", 0,
                                                     "ACTIVE")))

    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    b = Break.objects.get(loan_no="OK")
    assert (b.kind, b.field, b.ours, b.theirs, b.difference, b.status) == (
        "AMOUNT_MISMATCH", "PENALTY", "0.00", "12.34", Decimal("12.34"), "OPEN")


def test_rerunning_a_date_changes_nothing(book):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(**DAY1))
    first = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    before = _snapshot()
    applied_at = list(StagedBalance.objects.order_by("pk").values_list("applied_at", flat=True))

    again = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)

    assert _snapshot() == before
    assert again.by_kind == first.by_kind
    assert (again.opened, again.seen_again, again.auto_cleared, again.applied_rows) == (0, 0, 0, 0)
    assert list(StagedBalance.objects.order_by("pk").values_list("applied_at", flat=True)) \
        == applied_at


def test_next_day_ages_open_breaks_and_clears_what_no_longer_differs(book):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(**DAY1))
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    # Day 2: accrued 16/30 of 100.00 = 53.33. PRIN still 5.00 short; STAT fixed; DPD now off by
    # 0.01 of interest only (within tolerance); GHOST gone; GONE now reported.
    day2 = {no: (no, "10000.00", "53.33", "0.00", 0, "ACTIVE")
            for no in ["OK", "TOL", "STAT", "GONE"]}
    day2["PRIN"] = ("PRIN", "9995.00", "53.33", "0.00", 0, "ACTIVE")
    day2["DPD"] = ("DPD", "10000.00", "53.32", "0.00", 0, "ACTIVE")
    rf.balances_file(platform, D2, list(day2.values()))

    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D2)

    assert result.by_kind == {"AMOUNT_MISMATCH": 1}
    assert (result.seen_again, result.auto_cleared, result.opened) == (1, 4, 1)
    prin = Break.objects.get(loan_no="PRIN")
    assert (prin.status, prin.business_date, prin.last_seen_on, prin.age_days) == \
        ("OPEN", D1, D2, 1)
    for no in ["STAT", "DPD", "GHOST", "GONE"]:
        b = Break.objects.get(loan_no=no, business_date=D1)
        assert b.status == "AUTO_CLEARED" and "no longer differs" in b.resolution_note
        assert b.resolved_at is not None and b.last_seen_on == D1
    tol2 = Break.objects.get(loan_no="DPD", business_date=D2)
    assert (tol2.kind, tol2.field, tol2.status) == ("AMOUNT_MISMATCH", "INTEREST", "AUTO_CLEARED")
    assert Break.objects.filter(status="OPEN").count() == 1
    # rerunning the earlier day does not reopen or clear anything
    before = _snapshot()
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    assert _snapshot() == before


def test_a_break_that_comes_back_after_clearing_is_a_new_break(book):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(PRIN=DAY1["PRIN"]))
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    rf.balances_file(platform, D2, [(no, "10000.00", "53.33", "0.00", 0, "ACTIVE")
                                    for no in ["OK", "TOL", "PRIN", "STAT", "DPD", "GONE"]])
    services.breaks_reconcile(partner_id=platform.pk, business_date=D2)
    d3 = date(2026, 6, 18)
    rf.balances_file(platform, d3, [(no, "10000.00", "56.67", "0.00", 0, "ACTIVE")
                                    for no in ["OK", "TOL", "STAT", "DPD", "GONE"]]
                     + [("PRIN", "9990.00", "56.67", "0.00", 0, "ACTIVE")])
    services.breaks_reconcile(partner_id=platform.pk, business_date=d3)
    rows = list(Break.objects.filter(loan_no="PRIN").order_by("business_date")
                .values_list("business_date", "status", "difference"))
    assert rows == [(D1, "AUTO_CLEARED", Decimal("-5.00")), (d3, "OPEN", Decimal("-10.00"))]


def test_no_balances_file_compares_nothing(book):
    platform, _ = book
    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    assert result.file_id is None and result.by_kind == {} and not Break.objects.exists()


def test_rows_quarantined_at_apply_are_not_the_partners_view(book):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows())
    StagedBalance.objects.filter(loan_no="OK").update(status="QUARANTINED")
    result = services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    assert result.by_kind == {"MISSING_AT_BANK": 1, "MISSING_AT_PARTNER": 2}
    assert StagedBalance.objects.get(loan_no="OK").status == "QUARANTINED"


def test_other_partners_are_untouched_and_queries_do_not_grow_with_loans(
    book, django_assert_max_num_queries
):
    platform, _ = book
    beta, beta_program = rf.platform_with_program("BETA")
    rf.loans(beta_program, [f"B{i:04d}" for i in range(300)])
    rf.balances_file(beta, D1, [(f"B{i:04d}", "10000.00", "50.00", "0.00", 0, "ACTIVE")
                                for i in range(300)])
    rf.balances_file(platform, D1, _their_rows(**DAY1))
    # a constant: 19, and 2 for the rounding account (what is within the tolerance, what the
    # rounding account holds), whatever the number of loans
    with django_assert_max_num_queries(21):
        services.breaks_reconcile(partner_id=beta.pk, business_date=D1)
    assert not Break.objects.exists()
    assert StagedBalance.objects.filter(partner=platform, status="STAGED").count() == 6


def test_resolving_and_assigning_keep_the_break(book, django_user_model):
    platform, _ = book
    rf.balances_file(platform, D1, _their_rows(**DAY1))
    services.breaks_reconcile(partner_id=platform.pk, business_date=D1)
    user = django_user_model.objects.create_user("ops", password="x-pass-1234")
    opened = Break.objects.filter(status="OPEN")
    assert services.breaks_assign(breaks=opened, owner=user) == 5
    with pytest.raises(services.ReconciliationError):
        services.breaks_resolve(breaks=opened, note="  ", by=user)
    prin = Break.objects.get(loan_no="PRIN")
    assert services.breaks_resolve(breaks=[prin], note="partner fixes tomorrow", by=user) == 1
    prin.refresh_from_db()
    assert (prin.status, prin.owner, prin.resolved_by) == ("RESOLVED", user, user)
    assert services.breaks_resolve(breaks=[prin], note="again", by=user) == 0
    assert Break.objects.count() == 6
