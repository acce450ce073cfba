"""The per-event yardstick of bench_settlement (benchmarks.yardstick) does the same day's
work as the batch run: each per-event function, run before the batch on the books as they
stand (and rolled back), gives what the batch run then gives for the same loan — the booking,
the bank's collection lines, the bank's day of accrual and the ageing, the breaks of a balances
row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from benchmarks import yardstick as baseline
from ledger.services import chart_of_accounts_load
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import Break, Loan, StagedBalance, StagedLoan
from lending.reconciliation import services as reconcile
from lending.settlement import runner
from partners.models import Partner
from tests.factories import lending as f
from tests.factories import reconciliation as rf
from tests.factories.calendar import only_business_day
from tests.golden.helpers import loan_row, pay_row

pytestmark = pytest.mark.django_db

CODE = "YARD"
D0 = date(2026, 1, 20)  # the loans are booked
D1 = date(2026, 1, 21)  # accrual and ageing (BILL and PAY fall due, PAY is paid)
D2 = date(2026, 1, 22)  # a balances file with differences

# booked on their own disbursement days before D0 (a loans file carries only the day's loans)
EARLIER = {
    # overdue by D1: two instalments fell due unpaid (2025-12-20, 2026-01-20)
    date(2025, 11, 20): [
        loan_row("OD", "6000.00", "0.18", 12, "EQUAL_INSTALLMENT", "2025-11-20", "2025-12-20")],
    date(2025, 12, 21): [
        loan_row("BILL", "4000.01", "0.21", 6, "EQUAL_INSTALLMENT", "2025-12-21", "2026-01-21"),
        loan_row("PAY", "4000.00", "0.18", 6, "EQUAL_INSTALLMENT", "2025-12-21", "2026-01-21")],
}
LOANS = [
    loan_row("EI", "10000.00", "0.18", 12, "EQUAL_INSTALLMENT", "2026-01-20", "2026-02-20"),
    loan_row("EP", "7777.75", "0.15", 6, "EQUAL_PRINCIPAL", "2026-01-20", "2026-02-20"),
    loan_row("IF", "5000.01", "0.12", 6, "INTEREST_FIRST", "2026-01-20", "2026-02-20"),
    loan_row("DA", "3333.33", "0.18", 0, "DAILY", "2026-01-20", ""),
]
ACCRUED = ["EI", "EP", "IF", "DA", "OD", "BILL"]  # no event on D1: the accrual is the day's


class _Rollback(Exception):
    pass


@pytest.fixture
def day_zero_files():
    chart_of_accounts_load()
    platform = f.partner(CODE)
    version = f.active_agreement(code=f"AG-{CODE}", platform=platform,
                                 effective_from=date(2020, 1, 1))
    services.program_create(
        partner=platform, agreement=version.agreement, code="CASH", name="cash",
        repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "DAILY"],
        max_annual_rate=Decimal("0.24"), claim_trigger_dpd=None)
    for day, loans in EARLIER.items():
        _deliver(day, loans=loans)
        _settle(platform, day)
    _deliver(D0, loans=LOANS)
    return platform


def _deliver(day: date, **files) -> None:
    only_business_day(day, partner_code=CODE)
    for kind, r in partner_files_import(partner=CODE, business_date=day, files=files).items():
        assert r["status"] == "ACCEPTED", (kind, r)


def _settle(platform: Partner, day: date) -> None:
    run = runner.settlement_run(partner=platform, business_date=day)
    assert run.state == "DONE", (run.state, run.error, run.totals.get("check_problems"))


def _rolled_back(work):
    """What `work()` returns, with everything it wrote rolled back."""
    out = []
    try:
        with transaction.atomic():
            out.append(work())
            raise _Rollback
    except _Rollback:
        pass
    return out[0]


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _lines(key_prefix: str) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(idempotency key, account) → (Σ debit, Σ credit) of the BANK_GL entries so keyed."""
    return {(k, a): (d, c) for k, a, d, c in _fetch(
        """SELECT e.idempotency_key, a.code, SUM(l.debit), SUM(l.credit)
             FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id
             JOIN ledger_account a ON a.id = l.account_id JOIN ledger_book b ON b.id = e.book_id
            WHERE b.code = 'BANK_GL' AND e.idempotency_key LIKE %s GROUP BY 1, 2""",
        [key_prefix + "%"])}


def _booking(loan_no: str) -> tuple:
    loan = Loan.objects.get(loan_no=loan_no)
    return (
        (loan.principal, loan.bank_ratio, loan.agreement_version_id, loan.first_due_on,
         loan.maturity_on, loan.booked_on, loan.principal_outstanding),
        sorted((s.funder.code, s.ratio, s.funded_principal, s.principal_outstanding,
                s.accrual_weight, s.penalty_weight, s.is_residual)
               for s in loan.shares.select_related("funder")),
        [(i.seq, i.due_on, i.principal_due, i.interest_due)
         for i in loan.installments.order_by("seq")],
    )


def _anchors(loan_no: str) -> tuple:
    loan = Loan.objects.get(loan_no=loan_no)
    return loan.accrual_from, loan.accrual_to, loan.accrual_amount, loan.billed_seq


def _bank_positions(day: date) -> dict[str, tuple[Decimal, Decimal]]:
    """loan_no → the bank's derived (interest, penalty + compound) as of `day`."""
    return {no: (i, p) for no, i, p in _fetch(
        """SELECT l.loan_no, x.interest, x.penalty + x.compound
             FROM lending_share_positions(%s) x JOIN lending_loan l ON l.id = x.loan_id
             JOIN partners_partner b ON b.id = x.funder_id AND b.kind = 'BANK'""", [day])}


def _loan_positions(day: date) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """loan_no → (principal, interest, penalty + compound) of the loan as of `day`."""
    return {no: (p, i, n) for no, p, i, n in _fetch(
        """SELECT l.loan_no, SUM(x.principal), SUM(x.interest), SUM(x.penalty + x.compound)
             FROM lending_share_positions(%s) x JOIN lending_loan l ON l.id = x.loan_id
            GROUP BY l.loan_no""", [day])}


def test_booking_a_staged_loan_per_event_gives_the_batch_booking(day_zero_files):
    platform, bank = day_zero_files, f.bank()
    staged = list(StagedLoan.objects.filter(partner=platform, business_date=D0)
                  .order_by("row_no").values_list("pk", flat=True))
    assert len(staged) == len(LOANS)

    def per_event():
        lines = [baseline.loan_book_one(staged_id=pk, partner_code=CODE, bank_id=bank.pk, day=D0)
                 for pk in staged]
        return ({r[0]: _booking(r[0]) for r in LOANS}, {r[0]: _anchors(r[0]) for r in LOANS},
                _lines("baseline:book:"), lines,
                set(StagedLoan.objects.filter(pk__in=staged).values_list("status", flat=True)))

    booked, anchors, entries, lines, statuses = _rolled_back(per_event)
    assert lines == [2] * len(LOANS) and statuses == {"APPLIED"}
    assert not Loan.objects.filter(loan_no__in=[r[0] for r in LOANS]).exists()  # rolled back

    _settle(platform, D0)
    for loan_no, _program, _ref, principal, *_ in LOANS:
        assert booked[loan_no] == _booking(loan_no), loan_no
        shares = booked[loan_no][1]
        assert sum(s[2] for s in shares) == Decimal(principal)
        assert anchors[loan_no] == _anchors(loan_no), loan_no
        (bank_moved,) = _fetch(
            """SELECT SUM(m.amount) FROM lending_movement m JOIN lending_loan l
                   ON l.id = m.loan_id
                WHERE l.loan_no = %s AND m.event = 'DISBURSE' AND m.funder_id = %s""",
            [loan_no, bank.pk])[0]
        key = f"baseline:book:{loan_no}"
        assert entries[(key, "1301")] == (bank_moved, Decimal("0.00"))  # loans receivable
        assert entries[(key, "2241")] == (Decimal("0.00"), bank_moved)  # due to platform
    booked_schedules = {no: b[2] for no, b in booked.items()}
    assert len(booked_schedules["EI"]) == 12 and len(booked_schedules["DA"]) == 1


def test_accrual_and_ageing_per_event_give_the_batch_day(day_zero_files):
    platform, bank = day_zero_files, f.bank()
    _settle(platform, D0)
    before = _bank_positions(D0)
    pay = _fetch("""SELECT principal_due + interest_due FROM lending_installment i
                      JOIN lending_loan l ON l.id = i.loan_id WHERE l.loan_no = 'PAY'
                       AND i.seq = 1""", [])[0][0]
    _deliver(D1, repayments=[pay_row("T-PAY", "PAY", D1, pay)])
    ids = dict(Loan.objects.filter(loan_no__in=ACCRUED).values_list("loan_no", "pk"))

    def per_event():
        positions_before = _loan_positions(D1)
        lines = {no: baseline.loan_accrue_one(loan_id=ids[no], partner_code=CODE,
                                              bank_id=bank.pk, day=D1) for no in ACCRUED}
        collected = baseline.repayment_apply_one(
            partner_code=CODE, partner_id=platform.pk, loan_no="PAY", amount=pay, day=D1,
            txn_no="T-PAY", bank_id=bank.pk)
        aged = {no: (loan.dpd, loan.state, loan.risk_class, loan.accruing)
                for no, loan in ((n, Loan.objects.get(loan_no=n)) for n in ACCRUED)}
        return (_lines("baseline:accrue:"), lines, aged, collected, _lines("baseline:T-PAY"),
                positions_before, _loan_positions(D1))

    entries, lines, aged, collected, pay_lines, pos_before, pos_after = _rolled_back(per_event)
    # crystallising the day's accrual into the shares leaves every position where it was
    assert {no: pos_after[no] for no in ACCRUED} == {no: pos_before[no] for no in ACCRUED}

    _settle(platform, D1)
    after = _bank_positions(D1)
    zero = Decimal("0.00")
    total_interest = zero
    for no in ACCRUED:
        key = f"baseline:accrue:{ids[no]}:{D1:%Y-%m-%d}"
        interest = entries.get((key, "1132"), (zero, zero))
        penalty = entries.get((key, "1133"), (zero, zero))
        assert interest[0] - interest[1] == after[no][0] - before[no][0], no
        assert penalty[0] - penalty[1] == after[no][1] - before[no][1], no
        assert entries.get((key, "6011"), (zero, zero)) == interest[::-1], no
        total_interest += interest[0] - interest[1]
        loan = Loan.objects.get(loan_no=no)
        assert aged[no] == (loan.dpd, loan.state, loan.risk_class, loan.accruing), no
    assert all(lines.values())  # every loan accrued something
    assert entries[(f"baseline:accrue:{ids['OD']}:{D1:%Y-%m-%d}", "1133")][0] > 0  # penalty
    assert aged["OD"][:2] == (32, "OVERDUE") and aged["BILL"][:2] == (0, "ACTIVE")
    # the batch's ACCRUAL entry is the sum of the loans' days (PAY's interest was collected)
    (batch_interest,) = _fetch(
        """SELECT SUM(l.debit) - SUM(l.credit) FROM ledger_journalline l
             JOIN ledger_journalentry e ON e.id = l.entry_id
             JOIN ledger_account a ON a.id = l.account_id
            WHERE e.idempotency_key LIKE %s AND a.code = '1132'""",
        [f"settle:{D1:%Y-%m-%d}:{CODE}:BANK_GL:CASH:ACCRUAL"])[0]
    moved = dict(_fetch(
        """SELECT m.component, SUM(m.amount) FROM lending_movement m
             JOIN lending_loan l ON l.id = m.loan_id
            WHERE l.loan_no = 'PAY' AND m.event = 'COLLECT' AND m.funder_id = %s
            GROUP BY 1""", [bank.pk]))
    pay_accrual = after["PAY"][0] - before["PAY"][0] + moved["INTEREST"]
    assert batch_interest == total_interest + pay_accrual

    # the per-event repayment: the bank's collection lines are the batch's COLLECT movements
    assert collected == 4
    assert pay_lines[("baseline:T-PAY", "1132")] == (zero, moved["INTEREST"])
    assert pay_lines[("baseline:T-PAY", "1301")] == (zero, moved["PRINCIPAL"])
    assert pay_lines[("baseline:T-PAY", "1221")] == (moved["INTEREST"] + moved["PRINCIPAL"], zero)


def test_a_balances_row_per_event_records_the_breaks_of_the_batch_reconcile(day_zero_files):
    platform = day_zero_files
    _settle(platform, D0)
    _deliver(D1)
    _settle(platform, D1)
    ours = _loan_positions(D2)

    def row(no, *, principal=Decimal("0"), interest=Decimal("0"), dpd=0, status="ACTIVE"):
        p, i, n = ours[no]
        return (no, D2, p + principal, i + interest, n, dpd, status)

    rows = [row("EI"), row("EP", principal=Decimal("-5.00")),
            row("IF", interest=Decimal("0.01"), dpd=3), row("DA", status="OVERDUE")]
    _deliver(D2, balances=rows)
    numbers = [r[0] for r in rows]
    staged = list(StagedBalance.objects.filter(partner=platform, business_date=D2)
                  .order_by("row_no").values_list("pk", flat=True))

    def breaks() -> set[tuple]:
        return set(Break.objects.filter(loan_no__in=numbers).values_list(
            "loan_no", "kind", "field", "ours", "theirs", "difference", "status",
            "business_date", "last_seen_on", "resolution_note"))

    def per_event():
        return [baseline.balance_compare_one(staged_id=pk, day=D2) for pk in staged], breaks()

    written, per_event_breaks = _rolled_back(per_event)
    _settle(platform, D2)
    # the batch then clears what is within the tolerance into the rounding account, one
    # entry per program and day (never per event), and names the entry in the note
    assert per_event_breaks == {b[:-1] + (b[-1].split(": cleared into rounding")[0],)
                                for b in breaks()}
    assert {b[-1].split(": cleared into rounding")[1][:6] for b in breaks()
            if b[1] == "AMOUNT_MISMATCH" and b[6] == "AUTO_CLEARED"} == {" 6903 "}
    found = {(b[0], b[1], b[2], b[6]) for b in per_event_breaks if b[7] == D2}
    assert found == {
        ("EP", "AMOUNT_MISMATCH", "PRINCIPAL", "OPEN"),
        ("IF", "AMOUNT_MISMATCH", "INTEREST", "AUTO_CLEARED"),  # within the tolerance
        ("IF", "DPD_MISMATCH", "", "OPEN"),
        ("DA", "STATUS_MISMATCH", "", "OPEN"),
    }
    # the empty balances files of D0 and D1 left MISSING_AT_PARTNER breaks open: cleared now
    cleared = {b[0] for b in per_event_breaks if b[1] == "MISSING_AT_PARTNER"
               and b[6] == "AUTO_CLEARED"}
    assert cleared == {"EI", "EP", "IF", "DA"}
    assert written == [1, 2, 3, 2]  # EI: only its MISSING_AT_PARTNER cleared


def test_a_row_of_a_loan_not_booked_is_missing_at_the_bank_as_in_the_batch(db):
    """The bench's yardstick reconciles before the run: the day's new loans are not booked."""
    platform, program = rf.platform_with_program("YARD2")
    rf.loans(program, ["HERE"])
    day = date(2026, 6, 16)
    (interest,) = _fetch("SELECT SUM(interest) FROM lending_share_positions(%s)", [day])[0]
    rf.balances_file(platform, day, [("HERE", "9990.00", str(interest), "0.00", 0, "ACTIVE"),
                                     ("NEW", "500.00", "0.00", "0.00", 0, "ACTIVE")])
    staged = [b.pk for b in rf.staged_balances(platform, day)]

    def snapshot():
        return set(Break.objects.values_list("loan_no", "kind", "field", "ours", "theirs",
                                             "difference", "status", "business_date"))

    written, per_event = _rolled_back(lambda: (
        [baseline.balance_compare_one(staged_id=pk, day=day) for pk in staged], snapshot()))
    reconcile.breaks_reconcile(partner_id=platform.pk, business_date=day)
    assert per_event == snapshot() == {
        ("HERE", "AMOUNT_MISMATCH", "PRINCIPAL", "10000.00", "9990.00", Decimal("-10.00"),
         "OPEN", day),
        ("NEW", "MISSING_AT_BANK", "", "", "500.00", Decimal("500.00"), "OPEN", day),
    }
    assert written == [1, 1]
