"""Reversals that the oracle found wrong (issue 20), on the engine alone (pure: no database):
the reversed payment's own rounding point, a guarantor's claim payment reversed, a claim paid in
full after an instalment billed since it was raised, a recovery after write-off reversed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from lending.domain.loan_day import Event, loan_day
from tests.unit.settlement.test_engine import BANK, GUAR, PLAT, loan, moves, pay, terms

ZERO = D("0")


def reverse(result, txn: int, amount: str, on: date, kind="SCHEDULED") -> Event:
    original = tuple(m for m in result.movements if m[6] == txn)
    return Event(90 + txn, "REVERSAL", D(amount), original=original, original_txn_id=txn,
                 original_on=on, original_kind=kind)


def total(ln, attr: str) -> D:
    return sum((getattr(s, attr) for s in ln.shares.values()), ZERO)


def periods_1_2_paid_3_due(t):
    """DOMAIN §3.4's worked loan: 10,000.00 at 18 %, periods 1 and 2 paid, 3 due 04-15."""
    ln = loan()
    loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    loan_day(ln, t, date(2024, 3, 15), [pay("916.80", txn=2)])
    loan_day(ln, t, date(2024, 4, 15), [])
    return ln


def test_reversing_the_payment_that_rounded_the_penalty_rounds_it_once_again():
    # §3.4: 500.00 on 04-25, ten days overdue, pays penalty 5.92 and compound 0.95, rounded
    # at the payment. Reversed on 04-26 as if never made (§8.3): the penalty of 04-16..04-26
    # on the whole overdue instalment, rounded once (§8.6), is 6.52 — not 5.92 + 0.59 = 6.51,
    # which kept the reversed payment's rounding point.
    t = terms()
    ln = periods_1_2_paid_3_due(t)
    r = loan_day(ln, t, date(2024, 4, 25), [pay("500.00", txn=3)])
    m = moves(r)
    assert m[(BANK, "PENALTY")] + m[(PLAT, "PENALTY")] == D("5.92")
    loan_day(ln, t, date(2024, 4, 26), [reverse(r, 3, "500.00", date(2024, 4, 25))])
    i3 = ln.insts[2]
    daily = D("0.18") * D("1.5") / 360
    assert total(ln, "penalty") == (i3.principal_due * daily * 11).quantize(D("0.01")) \
        == D("6.52")
    assert total(ln, "compound") == (i3.interest_due * daily * 11).quantize(D("0.01")) \
        == D("1.05")
    # split 70 / 30 of the once-rounded amounts
    assert (ln.shares[BANK].penalty, ln.shares[PLAT].penalty) == (D("4.56"), D("1.96"))
    assert ln.round_txn is None  # the reversal day is the loan's last rounding point


def claimed_loan(t):
    """Period 3 of the worked loan unpaid; the claim raised at DPD 5 and paid in full."""
    ln = periods_1_2_paid_3_due(t)
    r = loan_day(ln, t, date(2024, 4, 20), [])
    assert r.claim_raised is not None and ln.claim_left == r.claim_raised[-1]
    amount = r.claim_raised[-1]
    paid = loan_day(ln, t, date(2024, 4, 22), [pay(str(amount), txn=5, payer="GUARANTOR")])
    assert ln.state == "CLAIMED" and ln.claim_left == 0
    return ln, paid, amount


def test_a_claim_payment_reversed_gives_the_bank_back_what_the_guarantor_took_on_since():
    t = terms(claim_trigger_dpd=5)
    ln, paid, amount = claimed_loan(t)
    bank_principal = ln.shares[GUAR].principal
    # period 4 is billed on 05-15 on the guarantor's weights; reversed on 05-17
    loan_day(ln, t, date(2024, 5, 15), [])
    assert ln.shares[GUAR].interest > 0
    r = loan_day(ln, t, date(2024, 5, 17), [reverse(paid, 5, str(amount), date(2024, 4, 22))])
    g, bank = ln.shares[GUAR], ln.shares[BANK]
    assert (g.principal, g.interest, g.penalty, g.compound, g.funded) == (ZERO,) * 5
    assert bank.principal == bank_principal and ln.state != "CLAIMED"
    assert (bank.accrual_weight, bank.penalty_weight) == (D("0.7"), D("0.7"))
    assert ln.claim_left == amount
    assert moves(r, "TRANSFER_IN")[(GUAR, "INTEREST")] < 0  # given back, without cash
    # as if never claimed: every balance split 70 / 30 (to the cent, the residual the rest)
    for attr in ("interest", "penalty", "compound"):
        whole = total(ln, attr)
        assert getattr(bank, attr) == (whole * D("0.7")).quantize(D("0.01")), attr


def test_a_claim_paid_in_full_after_a_billing_since_it_was_raised_closes_the_bank_share():
    t = terms(claim_trigger_dpd=5)
    ln = periods_1_2_paid_3_due(t)
    r = loan_day(ln, t, date(2024, 4, 20), [])
    amount = r.claim_raised[-1]
    loan_day(ln, t, date(2024, 5, 15), [])  # period 4 billed before the guarantor pays
    billed_since = ln.shares[BANK].interest - r.claim_raised[1]
    assert billed_since > 0
    paid = loan_day(ln, t, date(2024, 5, 16), [pay(str(amount), txn=5, payer="GUARANTOR")])
    bank = ln.shares[BANK]
    assert ln.state == "CLAIMED"
    assert (bank.principal, bank.interest, bank.penalty, bank.compound) == (ZERO,) * 4
    m = moves(paid, "CLAIM")
    assert m[(BANK, "PRINCIPAL")] + m[(BANK, "INTEREST")] == amount
    assert moves(paid, "TRANSFER_OUT")[(BANK, "INTEREST")] == billed_since


def test_a_recovery_after_write_off_reversed_reopens_the_loss_and_accrues_nothing():
    t = terms(write_off_dpd=5)
    ln = periods_1_2_paid_3_due(t)
    loan_day(ln, t, date(2024, 4, 20), [])
    assert ln.state == "WRITTEN_OFF"
    r = loan_day(ln, t, date(2024, 4, 22), [pay("300.00", txn=7)])
    assert total(ln, "recovered") == D("300.00")
    loan_day(ln, t, date(2024, 4, 24), [reverse(r, 7, "300.00", date(2024, 4, 22))])
    assert total(ln, "recovered") == 0 and ln.state == "WRITTEN_OFF"
    assert ln.penalty_from is None and ln.penalty_base == 0
    assert (total(ln, "penalty"), total(ln, "principal")) == (ZERO, ZERO)


def test_a_recovery_after_the_claim_reversed_gives_the_guarantor_its_share_back():
    # After the claim, borrower money on the bank's share goes to the guarantor (RECOVERY, R13);
    # reversed, the guarantor holds again what it bought, and the platform its part (§8.3).
    t = terms(claim_trigger_dpd=5)
    ln, _paid, _amount = claimed_loan(t)
    before = {f: (s.principal, s.interest) for f, s in ln.shares.items()}
    r = loan_day(ln, t, date(2024, 4, 24), [pay("300.00", txn=8)])
    assert moves(r, "RECOVERY")[(GUAR, "PRINCIPAL")] > 0
    loan_day(ln, t, date(2024, 4, 26), [reverse(r, 8, "300.00", date(2024, 4, 24))])
    after = {f: (s.principal, s.interest) for f, s in ln.shares.items()}
    assert after == before and ln.state == "CLAIMED"
    g = ln.shares[GUAR]
    assert (g.accrual_weight, g.penalty_weight) == (D("0.7"), D("0.7"))
    # the penalty of 04-23..04-26 on what is unpaid again, rounded once on the claimed weights
    assert ln.shares[BANK].penalty == 0 and g.penalty > 0
