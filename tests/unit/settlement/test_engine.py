"""The per-loan day engine on DOMAIN §3 worked numbers (pure: no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from lending.domain.loan_day import Event, Inst, LoanState, Share, Terms, loan_day
from lending.domain.schedule import build_schedule

BANK, PLAT, GUAR = 1, 2, 3


def terms(**kw) -> Terms:
    base = dict(annual_rate=D("0.18"), method="EQUAL_INSTALLMENT", day_count="ACT/360",
                penalty_multiplier=D("1.5"), grace_days=0,
                order=("PENALTY", "COMPOUND", "INTEREST", "PRINCIPAL"), claim_trigger_dpd=None,
                claim_scope="PRINCIPAL_INTEREST", write_off_dpd=None, interest_rule="PRO_RATA",
                bank_id=BANK, guarantor_id=GUAR, bank_yield=None)
    base.update(kw)
    return Terms(**base)


def loan(principal=D("10000.00"), rate=D("0.18"), term=12, disbursed=date(2024, 1, 15),
         method="EQUAL_INSTALLMENT") -> LoanState:
    sched = build_schedule(principal, rate, term, method, disbursed)
    insts = [Inst(i.seq, i.due_on, i.principal, i.interest, D("0"), D("0"))
             for i in sched.installments]
    bank = (principal * D("0.7")).quantize(D("0.01"))
    shares = {
        BANK: Share(BANK, bank, D("0"), D("0"), D("0"), D("0.7"), D("0.7"), False, bank),
        PLAT: Share(PLAT, principal - bank, D("0"), D("0"), D("0"), D("0.3"), D("0.3"), True,
                    principal - bank),
    }
    return LoanState(1, 1, "ACTIVE", True, D("0"), disbursed, insts[0].due_on,
                     insts[0].interest_due, 0, None, D("0"), D("0"), None, None, None, None,
                     None, None, 0, shares, insts, disbursed, principal)


def pay(amount, txn=1, kind="SCHEDULED", payer="BORROWER"):
    return Event(txn, kind, D(amount), payer)


def moves(result, event="COLLECT"):
    out: dict[tuple[int, str], D] = {}
    for m in result.movements:
        if m[2] == event:
            out[(m[1], m[3])] = out.get((m[1], m[3]), D("0")) + m[4]
    return out


def test_on_time_payments_leave_bank_principal_5918_43_after_period_2():
    ln, t = loan(), terms()
    r1 = loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    assert moves(r1)[(BANK, "PRINCIPAL")] == D("536.76")
    assert moves(r1)[(PLAT, "PRINCIPAL")] == D("230.04")
    assert moves(r1)[(BANK, "INTEREST")] == D("105.00")
    assert moves(r1)[(PLAT, "INTEREST")] == D("45.00")
    loan_day(ln, t, date(2024, 3, 15), [pay("916.80", txn=2)])
    assert ln.shares[BANK].principal == D("5918.43")
    assert ln.shares[PLAT].principal == D("2536.47")
    assert ln.oldest_unpaid_due_on is None and ln.state == "ACTIVE"
    assert ln.shares[BANK].interest == 0 and ln.shares[PLAT].interest == 0


def test_500_waterfall_ten_days_overdue_and_its_70_30_split():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    loan_day(ln, t, date(2024, 3, 15), [pay("916.80", txn=2)])
    loan_day(ln, t, date(2024, 4, 15), [])  # period 3 falls due, unpaid
    r = loan_day(ln, t, date(2024, 4, 25), [pay("500.00", txn=3)])  # 10 days overdue
    m = moves(r)
    assert m[(BANK, "PENALTY")] + m[(PLAT, "PENALTY")] == D("5.92")
    assert m[(BANK, "COMPOUND")] + m[(PLAT, "COMPOUND")] == D("0.95")
    assert m[(BANK, "INTEREST")] + m[(PLAT, "INTEREST")] == D("126.82")
    assert m[(BANK, "PRINCIPAL")] + m[(PLAT, "PRINCIPAL")] == D("366.31")
    assert (m[(BANK, "PRINCIPAL")], m[(PLAT, "PRINCIPAL")]) == (D("256.42"), D("109.89"))
    assert (m[(BANK, "INTEREST")], m[(PLAT, "INTEREST")]) == (D("88.77"), D("38.05"))
    assert (m[(BANK, "PENALTY")], m[(PLAT, "PENALTY")]) == (D("4.14"), D("1.78"))
    assert (m[(BANK, "COMPOUND")], m[(PLAT, "COMPOUND")]) == (D("0.67"), D("0.28"))
    assert ln.insts[2].principal_unpaid == D("423.67")
    assert ln.dpd == 10 and ln.oldest_unpaid_due_on == date(2024, 4, 15)


def test_payoff_clears_every_share_to_zero_and_closes_the_loan():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    r = loan_day(ln, t, date(2024, 3, 1), [pay("20000.00", txn=2, kind="PAYOFF")])
    assert ln.state == "PAID_OFF"
    for s in ln.shares.values():
        assert (s.principal, s.interest, s.penalty, s.compound) == (0, 0, 0, 0)
    collected = sum(m[4] for m in r.movements if m[2] == "COLLECT")
    overpaid = sum(m[4] for m in r.movements if m[2] == "OVERPAY")
    assert collected + overpaid == D("20000.00")
    # 9,233.20 principal + interest 2024-02-15..03-01 (15 of 29 days of 138.50 → 71.64)
    assert collected == D("9233.20") + D("71.64")
    # DOMAIN §8.8: the advance left at closing is refunded through the partner, not held
    refunded = [m for m in r.movements if m[2] == "REFUND"]
    assert [(m[3], m[4], m[6]) for m in refunded] == [("OVERPAYMENT", overpaid, 2)]
    assert ln.overpaid == 0


def test_scheduled_overpayment_goes_to_suspense_and_pays_the_next_instalment():
    ln, t = loan(), terms()
    r = loan_day(ln, t, date(2024, 2, 15), [pay("1000.00")])
    assert moves(r, "OVERPAY")[(BANK, "OVERPAYMENT")] == D("83.20")
    assert ln.overpaid == D("83.20")
    r2 = loan_day(ln, t, date(2024, 3, 15), [])
    applied = sum(m[4] for m in r2.movements if m[2] == "SUSPENSE_APPLY")
    assert applied == D("83.20") and ln.overpaid == 0
    assert ln.insts[1].interest_paid == D("83.20")


def test_guarantor_claim_transfers_the_bank_share_and_later_money_is_routed():
    ln, t = loan(), terms(claim_trigger_dpd=80)
    loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    loan_day(ln, t, date(2024, 3, 15), [pay("916.80", txn=2)])
    for d in (date(2024, 4, 15), date(2024, 5, 15), date(2024, 6, 15)):
        loan_day(ln, t, d, [])
    r = loan_day(ln, t, date(2024, 7, 4), [])  # period 3 reaches DPD 80
    assert r.claim_raised is not None
    principal, interest, _pen, amount = r.claim_raised
    assert principal == D("5918.43")
    assert interest == D("241.32")  # 70 % of 126.82 + 114.82 + 103.10 (periods 3–5)
    assert amount == D("6159.75")
    r2 = loan_day(ln, t, date(2024, 7, 5), [pay("6159.75", txn=9, payer="GUARANTOR")])
    assert r2.claim_paid == D("6159.75")
    assert ln.state == "CLAIMED"
    assert ln.shares[BANK].principal == 0 and ln.shares[BANK].interest == 0
    assert ln.shares[GUAR].principal == D("5918.43")
    r3 = loan_day(ln, t, date(2024, 7, 6), [pay("100.00", txn=10)])
    funders = {m[1] for m in r3.movements}
    assert BANK not in funders
    assert any(m[2] == "RECOVERY" and m[1] == GUAR for m in r3.movements)


def test_reversal_restores_the_original_split_exactly():
    ln, t = loan(), terms()
    r1 = loan_day(ln, t, date(2024, 2, 15), [pay("916.80")])
    before = {f: (s.principal, s.interest) for f, s in ln.shares.items()}
    r2 = loan_day(ln, t, date(2024, 2, 20), [Event(2, "REVERSAL", D("916.80"),
                                                   original=tuple(r1.movements))])
    assert sorted(m[4] for m in r2.movements) == sorted(-m[4] for m in r1.movements)
    assert ln.shares[BANK].principal == D("7000.00")
    assert ln.shares[PLAT].principal == D("3000.00")
    assert ln.insts[0].principal_paid == 0 and ln.oldest_unpaid_due_on == date(2024, 2, 15)
    assert before != {f: (s.principal, s.interest) for f, s in ln.shares.items()}


def test_write_off_then_recovery():
    ln, t = loan(), terms(write_off_dpd=90, guarantor_id=None)
    d = date(2024, 2, 15)
    loan_day(ln, t, d, [])
    r = loan_day(ln, t, d + timedelta(days=90), [])
    assert ln.state == "WRITTEN_OFF"
    wo = sum(m[4] for m in r.movements if m[2] == "WRITE_OFF" and m[3] == "PRINCIPAL")
    assert wo == D("10000.00")
    r2 = loan_day(ln, t, d + timedelta(days=95), [pay("1000.00", txn=5)])
    rec = moves(r2, "WO_RECOVERY")
    assert rec[(BANK, "PRINCIPAL")] + rec[(PLAT, "PRINCIPAL")] == D("1000.00")
    assert rec[(BANK, "PRINCIPAL")] == D("700.00")


def test_billed_unpaid_instalment_is_due_on_its_date_and_overdue_after():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [pay("400.00")])
    assert ln.insts[0].status == "DUE" and ln.insts[0].dirty
    ln.insts[0].dirty = False
    loan_day(ln, t, date(2024, 2, 16), [])
    assert ln.insts[0].status == "OVERDUE" and ln.insts[0].dirty
    assert ln.insts[1].status == "PENDING"


def test_guarantor_money_beyond_the_bank_share_is_owed_back_not_suspense():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [])  # period 1 due, unpaid
    bank = ln.shares[BANK].principal + ln.shares[BANK].interest  # 7,000.00 + 105.00
    r = loan_day(ln, t, date(2024, 2, 16), [pay(str(bank + D("50.00")), payer="GUARANTOR")])
    assert moves(r, "CLAIM_EXCESS") == {(BANK, "OVERPAYMENT"): D("50.00")}
    assert moves(r, "OVERPAY") == {} and ln.overpaid == 0
    assert ln.state == "CLAIMED" and ln.shares[BANK].principal == 0


def test_claim_reversal_after_a_recovery_is_refused_not_negative():
    ln, t = loan(), terms()
    loan_day(ln, t, date(2024, 2, 15), [])
    bank = ln.shares[BANK].principal + ln.shares[BANK].interest
    claim = loan_day(ln, t, date(2024, 2, 16), [pay(str(bank), txn=1, payer="GUARANTOR")])
    loan_day(ln, t, date(2024, 2, 17), [pay("100.00", txn=2)])  # a recovery on GUARD's share
    original = tuple(m for m in claim.movements if m[6] == 1)
    r = loan_day(ln, t, date(2024, 2, 18), [Event(3, "REVERSAL", bank, original=original)])
    assert [x[1] for x in r.rejects] == ["NOT_REVERSIBLE"]
    assert all(v >= 0 for s in ln.shares.values()
               for v in (s.principal, s.interest, s.penalty, s.compound))


def _reversal(txn, original_txn, result, on):
    orig = tuple(m for m in result.movements if m[6] == original_txn)
    amount = sum((m[4] for m in orig if m[2] not in ("CLAIM_IN", "TRANSFER_IN", "TRANSFER_OUT")),
                 D("0"))
    return Event(txn, "REVERSAL", amount, original=orig, original_txn_id=original_txn,
                 original_on=on)


def test_reversing_a_payoff_gives_back_the_original_schedule_and_accrual():
    ln, t = loan(), terms()
    original = [(i.principal_due, i.interest_due) for i in ln.insts]
    off = date(2024, 1, 25)
    # 150.00 × 10/31 = 48.387 → 48.39 interest to date + 10,000.00 principal.
    r = loan_day(ln, t, off, [pay("10048.39", txn=1, kind="PAYOFF")])
    assert ln.state == "PAID_OFF" and ln.accrual_from is None
    loan_day(ln, t, date(2024, 1, 27), [_reversal(2, 1, r, off)])
    assert ln.state == "ACTIVE" and ln.closed_on is None
    assert [(i.principal_due, i.interest_due) for i in ln.insts] == original
    assert all(i.principal_paid == 0 and i.interest_paid == 0 for i in ln.insts)
    assert all(i.status == "PENDING" and i.paid_on is None for i in ln.insts)
    assert sum(s.principal for s in ln.shares.values()) == D("10000.00")
    # As if never paid off: the period (01-15 → 02-15, 31 days, 150.00) accrued to 01-27 is
    # 150.00 × 12/31 = 58.0645 → 58.06 (not 48.39 + HALF_UP(101.61 × 2/21) = 58.07),
    # crystallised on the reversal day; the rest runs on to 02-15.
    assert (ln.accrual_from, ln.accrual_to) == (date(2024, 1, 27), date(2024, 2, 15))
    crystallised = sum(s.interest for s in ln.shares.values())
    assert crystallised == D("58.06")
    assert crystallised + ln.accrual_amount.quantize(D("0.01")) == D("150.00")


def test_reversing_one_of_two_prepayments_re_amortises_without_piling_principal():
    ln, t = loan(), terms()
    first, second = date(2024, 1, 25), date(2024, 1, 30)
    r1 = loan_day(ln, t, first, [pay("2000.00", txn=1, kind="PREPAYMENT")])
    loan_day(ln, t, second, [pay("1000.00", txn=2, kind="PREPAYMENT")])
    outstanding = sum(s.principal for s in ln.shares.values())
    loan_day(ln, t, date(2024, 2, 5), [_reversal(3, 1, r1, first)])
    restored = sum(s.principal for s in ln.shares.values())
    assert restored - outstanding == sum(m[4] for m in r1.movements
                                         if m[3] == "PRINCIPAL" and m[2] == "COLLECT")
    # The schedule carries exactly what is outstanding, spread over the remaining instalments
    # (re-amortised: the second prepayment stands), not piled on instalment 1.
    assert sum(i.principal_due - i.principal_paid for i in ln.insts) == restored
    unpaid = [i.principal_due - i.principal_paid for i in ln.insts]
    assert max(unpaid) < D("1000.00") and min(unpaid) > 0
    assert all(i.status == "PENDING" for i in ln.insts)
    assert ln.state == "ACTIVE" and ln.accrual_amount > 0
    # Interest of period 1 = crystallised so far + the rest on the restored balance.
    inst1 = ln.insts[0]
    assert inst1.interest_due - inst1.interest_paid == (
        sum(s.interest for s in ln.shares.values()) + ln.accrual_amount.quantize(D("0.01")))


def test_reversing_an_earlier_instalment_of_a_paid_off_loan_reopens_only_that_instalment():
    ln, t = loan(), terms()
    due = date(2024, 2, 15)
    r1 = loan_day(ln, t, due, [pay("916.80", txn=1)])
    # Payoff on 02-20: period 2 (138.50 over 29 days) for 5 days 23.88 + 9,233.20 principal.
    loan_day(ln, t, date(2024, 2, 20), [pay("9257.08", txn=2, kind="PAYOFF")])
    assert ln.state == "PAID_OFF"
    rev = date(2024, 2, 25)
    loan_day(ln, t, rev, [_reversal(3, 1, r1, due)])
    # Only instalment 1 is owed again (766.80 + 150.00); what the payoff paid stays paid.
    assert ln.state == "ACTIVE" and ln.dpd == 10  # OVERDUE is set by the day's aging SQL
    assert sum(s.principal for s in ln.shares.values()) == D("766.80")
    assert sum(i.principal_due - i.principal_paid for i in ln.insts) == D("766.80")
    assert ln.insts[0].interest_due - ln.insts[0].interest_paid == D("150.00")
    # Penalty from the due date (it was paid on it): 10 days at 0.075 %/day:
    # 766.80 × 0.00075 × 10 = 5.751 → 5.75, compound 150.00 × 0.00075 × 10 = 1.125 → 1.13.
    assert sum(s.penalty for s in ln.shares.values()) == D("5.75")
    assert sum(s.compound for s in ln.shares.values()) == D("1.13")
