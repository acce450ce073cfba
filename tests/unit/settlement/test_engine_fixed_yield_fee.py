"""The fixed-yield fee (BANK_FIXED_YIELD, DOMAIN §3.5, §8.7) over part of a period and after a
reversal — the two defects the oracle found (FEE_PART_PERIOD, FEE_REVERSAL), on the 10,000.00
/ 18 % / 12-month golden loan, bank 70 % (7,000.00) with a fixed yield of 8 %, disbursed
2024-01-15, first due 02-15: a regular month of 31 days, 150.00 of interest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from lending.domain.loan_day import Event, loan_day
from lending.domain.money import q2
from tests.unit.settlement.test_engine import BANK, loan, terms


def _fee(result) -> D:
    return sum((m[4] for m in result.movements if m[2] == "FEE"), D("0"))


def _fixed():
    return loan(), terms(interest_rule="BANK_FIXED_YIELD", bank_yield=D("0.08"))


def test_a_prepayment_8_days_into_a_regular_month_earns_the_yield_on_the_months_basis():
    ln, t = _fixed()
    r = loan_day(ln, t, date(2024, 1, 23), [Event(1, "PREPAYMENT", D("3000.00"))])
    interest = q2(D("150.00") * 8 / 31)  # 38.71 to date, the bank's gross part 27.10
    assert interest == D("38.71")
    entitled = q2(D("7000.00") * D("0.08") / 12 * 8 / 31)  # ÷ 12 over the period's days (§8.7)
    assert entitled == D("12.04")  # not 7,000 × 8 % × 8 / 360 = 12.44
    assert _fee(r) == D("27.10") - entitled == D("15.06")
    fee_rows = [m for m in r.movements if m[2] == "FEE"]
    assert [m[1] for m in fee_rows] == [BANK] and fee_rows[0][6] == 1  # the payment's txn


def test_reversing_the_prepayment_takes_its_fee_back_and_books_the_period_to_date_once():
    ln, t = _fixed()
    r1 = loan_day(ln, t, date(2024, 1, 23), [Event(1, "PREPAYMENT", D("3000.00"))])
    original = tuple(m for m in r1.movements if m[6] == 1)
    r2 = loan_day(ln, t, date(2024, 1, 25), [
        Event(2, "REVERSAL", D("3000.00"), original=original, original_txn_id=1,
              original_on=date(2024, 1, 23), original_kind="PREPAYMENT")])
    assert ln.shares[BANK].principal == D("7000.00")
    # as if never paid: 10 days of the period crystallised once, 48.39, the bank's 33.87
    entitled = q2(D("7000.00") * D("0.08") / 12 * 10 / 31)
    assert entitled == D("15.05")
    assert _fee(r1) + _fee(r2) == D("33.87") - entitled == D("18.82")  # was 15.06 + 18.82


def test_a_reversal_whose_advance_cannot_be_taken_back_is_refused_whole():
    # (an engine rule beside the fee's: the same reversal path) the advance of 100.00 the
    # repayment left is gone from suspense and no application or refund of it is known
    from tests.unit.settlement.test_engine import terms as plain_terms
    ln = loan()
    original = ((1, BANK, "OVERPAY", "OVERPAYMENT", D("100.00"), None, 7, False, True),)
    r = loan_day(ln, plain_terms(), date(2024, 1, 25), [
        Event(8, "REVERSAL", D("100.00"), original=original, original_txn_id=7,
              original_on=date(2024, 1, 20), original_kind="SCHEDULED")])
    assert r.rejects and r.rejects[0][:2] == (8, "NOT_REVERSIBLE")
    assert "100.00 short" in r.rejects[0][3]
    assert not r.movements and ln.overpaid == 0 and r.applied_txns == []


def test_the_yield_basis_leaves_out_an_overdue_instalments_principal():
    # Instalment 1 (766.80 principal, due 02-15) is not paid. Period 2 (02-15 → 03-15, 29 days
    # in 2024) accrues on 9,233.20: 138.50. The bank's yield is on its part of that balance
    # (§8.7 "the same basis"): 7,000.00 less HALF_UP(766.80 × 0.7) = 536.76, i.e. 6,463.24;
    # the overdue principal bears penalty, not interest.
    ln, t = _fixed()
    r1 = loan_day(ln, t, date(2024, 2, 16), [])
    assert _fee(r1) == D("105.00") - q2(D("7000.00") * D("0.08") / 12) == D("58.33")
    # A PREPAYMENT on 02-20, 5 days into period 2: interest to date 138.50 × 5 / 29 = 23.88,
    # the bank's gross part 16.72, its yield 6,463.24 × 8 % ÷ 12 × 5 / 29 = 7.43 → fee 9.29
    # (on 7,000.00 the yield was 8.05 and the fee 8.67).
    r2 = loan_day(ln, t, date(2024, 2, 20), [Event(1, "PREPAYMENT", D("3000.00"))])
    entitled = q2(D("6463.24") * D("0.08") / 12 * 5 / 29)
    assert entitled == D("7.43")
    assert _fee(r2) == D("16.72") - entitled == D("9.29")


def test_at_billing_the_yield_basis_leaves_out_an_overdue_instalments_principal():
    ln, t = _fixed()
    loan_day(ln, t, date(2024, 2, 16), [])
    r = loan_day(ln, t, date(2024, 3, 16), [])
    # period 2's 138.50, the bank's gross HALF_UP(96.95) = 96.95; yield on 6,463.24 ÷ 12
    assert _fee(r) == D("96.95") - q2(D("6463.24") * D("0.08") / 12) == D("53.86")


def test_a_period_crystallised_anew_takes_its_pieces_fee_back_and_books_one():
    # A rebuilt loan's PREPAYMENT reversal days (§8.3, crystallise_period_anew): on 01-19 the
    # period's interest to date is crystallised, 150.00 × 4/31 = 19.35 (bank gross 13.55,
    # yield 7,000.00 × 8 % ÷ 12 × 4/31 = 6.02, fee 7.53); on 01-28 the period, nothing paid on
    # it, is crystallised anew in one piece: 150.00 × 13/31 = 62.90, bank 44.03 / 18.87, yield
    # 19.57, fee 24.46 — the 7.53 of the first piece taken back. (In two pieces it was bank
    # 13.55 + 30.49 = 44.04 and fees 7.53 + 16.94 = 24.47.)
    ln, t = _fixed()
    day1, day2 = date(2024, 1, 19), date(2024, 1, 28)
    r1 = loan_day(ln, t, day1, [Event(5, "REVERSAL", D("1000.00"), rounding_only=True,
                                      original_kind="PREPAYMENT")])
    assert _fee(r1) == D("7.53") and ln.period_fee == D("7.53")
    r2 = loan_day(ln, t, day2, [Event(6, "REVERSAL", D("1000.00"), rounding_only=True,
                                      original_kind="PREPAYMENT")])
    assert [m[4] for m in r2.movements if m[2] == "FEE"] == [D("-7.53"), D("24.46")]
    assert _fee(r1) + _fee(r2) == D("44.03") - q2(D("7000.00") * D("0.08") / 12 * 13 / 31)
    assert (ln.shares[BANK].interest, sum(s.interest for s in ln.shares.values())) == (
        D("44.03"), D("62.90"))
    assert ln.period_fee == D("24.46")
