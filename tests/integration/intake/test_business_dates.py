"""FILE_FORMATS 1.1 "Business dates" (issue 19, item 4): files for days that are not business
days, after today, or already settled are rejected whole; row dates outside the day are
quarantined BAD_DATE / FUTURE_DATE.

Before 1.1 every file below was accepted and its rows staged: a loan disbursed 2026-03-15 in
a later day's loans file was booked, a repayment paid 0001-01-01 applied."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from intake_factories import (
    HEADERS,
    assert_balanced,
    build_file,
    import_bytes,
    import_rows,
    make_loan,
    nothing_staged,
    run_references,
)

from lending.models import StagedLoan, StagedRepayment
from lending.settlement.models import RunState, SettlementRun
from partners.models import CalendarDay, CalendarDayKind, InboundFile, QuarantinedRow

SETTLED = date(2026, 11, 27)  # a Friday
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")  # disbursed 2026-06-01
    return alpha


def settle(partner, day: date) -> None:
    """The partner's run of `day` is DONE (what lending.selectors.last_settled_date reads)."""
    SettlementRun.objects.create(partner=partner, business_date=day, state=RunState.DONE)


def rep(txn, paid_on, loan_no="L1", amount="100.00"):
    return [txn, loan_no, paid_on, amount, "BORROWER", "SCHEDULED"]


def quarantine(result) -> dict[int, tuple[str, str, str]]:
    return {q.row_no: (q.reason, q.column, q.message)
            for q in QuarantinedRow.objects.filter(file_id=result.file_id)}


def rejected(result, phrase: str) -> None:
    assert result.status == "REJECTED", result
    assert phrase in result.error, result.error
    assert nothing_staged()
    f = InboundFile.objects.get(pk=result.file_id)
    assert (f.status, f.error) == ("REJECTED", result.error)


# --- the file's business date ---------------------------------------------------------------

def test_weekend_file_is_rejected(world):
    rejected(import_rows("repayments", [rep("T1", "2026-11-28")], bdate=date(2026, 11, 28)),
             "business date 2026-11-28 is not a business day of the bank's calendar")


def test_public_holiday_file_is_rejected_and_its_make_up_day_accepted(world):
    # 2026-10-01 National Day, a Thursday; 2026-10-10 its make-up working day, a Saturday
    # (partners migration 0006: the State Council's notice)
    rejected(import_rows("repayments", [rep("T1", "2026-10-01")], bdate=date(2026, 10, 1)),
             "2026-10-01 is not a business day")
    ok = import_rows("repayments", [rep("T2", "2026-10-10")], bdate=date(2026, 10, 10))
    assert ok.status == "ACCEPTED", ok


def test_calendar_is_data_a_day_staff_mark_as_holiday_is_rejected(world):
    CalendarDay.objects.create(day=MONDAY, kind=CalendarDayKind.HOLIDAY, name="test")
    rejected(import_rows("repayments", [rep("T1", "2026-11-30")]), "is not a business day")


def test_file_dated_after_today_is_rejected(world):
    name, data, control = build_file("repayments", [rep("T1", "2026-11-30")])
    # 23:30 UTC on Sunday 11-29 is already Monday 11-30 in Shanghai (TIME_ZONE): accepted
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert sunday_night.astimezone(SHANGHAI).date() == MONDAY
    early = datetime(2026, 11, 29, 12, 0, tzinfo=SHANGHAI)
    rejected(import_bytes(name, data, control, now=early),
             "business date 2026-11-30 is after today (2026-11-29)")
    assert import_bytes(name, data, control, now=sunday_night).status == "ACCEPTED"


def test_file_for_a_settled_day_is_rejected(world):
    partner = world[0]
    settle(partner, SETTLED)
    for day in (SETTLED, date(2026, 11, 26)):  # the settled day and one before it
        rejected(import_rows("repayments", [rep("T1", day.isoformat())], bdate=day),
                 f"business date {day.isoformat()} is on or before the partner's last settled "
                 "business date 2026-11-27: a settled day is never rewritten")
    assert import_rows("repayments", [rep("T1", "2026-11-30")]).status == "ACCEPTED"


def test_settled_day_of_another_partner_does_not_count(world):
    from intake_factories import make_partner

    settle(make_partner("BETA")[0], MONDAY)
    assert import_rows("repayments", [rep("T1", "2026-11-30")]).status == "ACCEPTED"


def test_identical_resend_after_settlement_is_still_a_duplicate(world):
    """A resend of the accepted file changes nothing, so it keeps its answer (DUPLICATE);
    a different file for the settled day is rejected by the settled-day rule."""
    name, data, control = build_file("repayments", [rep("T1", "2026-11-30")])
    first = import_bytes(name, data, control)
    assert first.status == "ACCEPTED"
    settle(world[0], MONDAY)
    assert import_bytes(name, data, control).status == "DUPLICATE"
    other = import_rows("repayments", [rep("T9", "2026-11-30")])
    assert other.status == "REJECTED" and "last settled business date 2026-11-30" in other.error


# --- row dates ------------------------------------------------------------------------------

LOAN_HEADER = HEADERS["loans"]


def loan(no, disbursed_on):
    return [no, "P1", "B-" + no, "1000.00", "0.12", "12", "EQUAL_INSTALLMENT", disbursed_on,
            "BA-" + no]


def test_loan_disbursed_on_another_day_is_quarantined(world):
    """The issue's repro: a loan disbursed 2026-03-15 in a later day's loans file."""
    result = import_rows("loans", [loan("N1", "2026-11-30"), loan("N2", "2026-03-15"),
                                   loan("N3", "20261127"), loan("N4", "2026-12-01")])
    assert result.status == "ACCEPTED", result
    assert quarantine(result) == {
        2: ("BAD_DATE", "disbursed_on", "disbursed_on must be the business date: '2026-03-15'"),
        3: ("BAD_DATE", "disbursed_on", "disbursed_on must be the business date: '20261127'"),
        4: ("FUTURE_DATE", "disbursed_on", "disbursed_on is after the business date: "
                                           "'2026-12-01'"),
    }
    assert list(StagedLoan.objects.values_list("loan_no", flat=True)) == ["N1"]
    assert_balanced(result.file_id)


def test_paid_on_rules(world):
    partner, version, program = world
    settle(partner, SETTLED)
    assert import_rows("loans", [loan("N1", "2026-11-30")]).quarantined == 0  # staged today
    make_loan(partner, program, version, "L9")
    rows = [
        rep("T1", "2026-11-30"),                 # 1 good: the business date
        rep("T2", "2026-11-28"),                 # 2 good: a Saturday payment in Monday's file
        rep("T3", "2026-11-27"),                 # 3 BAD_DATE: the settled day
        rep("T4", "0001-01-01"),                 # 4 BAD_DATE: the repro
        rep("T5", "2026-12-01"),                 # 5 FUTURE_DATE
        rep("T6", "2026-11-29", loan_no="N1"),   # 6 BAD_DATE: before the staged loan's day
        rep("T7", "2026-11-30", loan_no="N1"),   # 7 good: the staged loan's day
    ]
    result = import_rows("repayments", rows)
    assert result.status == "ACCEPTED", result
    intake = {
        3: ("BAD_DATE", "paid_on",
            "paid_on 2026-11-27 is on or before the last settled business date 2026-11-27"),
        4: ("BAD_DATE", "paid_on",
            "paid_on 0001-01-01 is on or before the last settled business date 2026-11-27"),
        5: ("FUTURE_DATE", "paid_on", "paid_on is after the business date: '2026-12-01'"),
    }
    assert quarantine(result) == intake
    assert_balanced(result.file_id)
    # the loan's disbursement is checked by the run (the loan may be in a file not yet in)
    run_references(bdate=MONDAY)
    assert quarantine(result) == {**intake, 6: (
        "BAD_DATE", "paid_on", "paid_on 2026-11-29 is before the loan's disbursement on "
        "2026-11-30")}
    assert QuarantinedRow.objects.get(file_id=result.file_id, row_no=6).stage == "APPLY"
    assert sorted(StagedRepayment.objects.filter(status="STAGED").values_list(
        "txn_no", flat=True)) == ["T1", "T2", "T7"]


def test_paid_on_before_a_booked_loans_disbursement_without_any_settled_day(world):
    result = import_rows("repayments", [rep("T1", "0001-01-01"), rep("T2", "2026-05-31"),
                                        rep("T3", "2026-06-01")])
    assert result.quarantined == 0  # nothing settled: only the loan says these are too early
    run_references(bdate=MONDAY)
    assert {k: v[:2] for k, v in quarantine(result).items()} == {
        1: ("BAD_DATE", "paid_on"), 2: ("BAD_DATE", "paid_on")}


def test_reversed_on_rules(world):
    partner = world[0]
    assert import_rows("repayments", [rep("T1", "2026-11-30"), rep("T2", "2026-11-30"),
                                      rep("T3", "2026-11-30")]).quarantined == 0
    settle(partner, MONDAY)
    rows = [["V1", "T1", "2026-12-01", "100.00", ""],   # good
            ["V2", "T2", "2026-11-30", "100.00", ""],   # BAD_DATE: the settled day
            ["V3", "T3", "2026-12-02", "100.00", ""]]   # FUTURE_DATE
    result = import_rows("reversals", rows, bdate=TUESDAY)
    assert result.status == "ACCEPTED", result
    assert quarantine(result) == {
        2: ("BAD_DATE", "reversed_on",
            "reversed_on 2026-11-30 is on or before the last settled business date 2026-11-30"),
        3: ("FUTURE_DATE", "reversed_on",
            "reversed_on is after the business date: '2026-12-02'"),
    }
    assert_balanced(result.file_id)


def test_as_of_must_be_the_business_date(world):
    def bal(as_of):
        return ["L1", as_of, "900.00", "0.00", "0.00", "0", "ACTIVE"]

    result = import_rows("balances", [bal("2026-11-30")])
    assert result.quarantined == 0
    result = import_rows("balances", [bal("2026-11-27"), bal("2026-12-02")], bdate=TUESDAY)
    assert {k: v[:2] for k, v in quarantine(result).items()} == {
        1: ("BAD_DATE", "as_of"), 2: ("FUTURE_DATE", "as_of")}
