"""One loan's business day, as pure functions over plain state (no Django, no I/O, no clock).

Part of the domain (issue 20): built on the domain's schedule, day count, penalty, waterfall
and split; lending.settlement.steps loads the state, runs `loan_day` and writes it back.

The settlement chunk loads the loans that something happens to on day D (a repayment or a
reversal, an instalment falling due, an instalment entering the penalty base, an aging
threshold), runs `loan_day` on each, and writes back the changed state and the movements.
Everything that merely accrues with time is *derived* (see lending/sql/positions.sql): between
events a loan's row does not change. At an event the engine crystallises what has accrued since
the anchors into the share balances, with exactly the arithmetic the SQL uses, so the derived
position is continuous and the day's GL posting can be the delta against what is posted.

Decisions (where the brief leaves a choice):
- A SCHEDULED payment pays what has fallen due, oldest instalment first and within it by the
  program's order (default penalty, compound, interest, principal: each instalment's part of
  the loan's penalty with it, §8.2, lending.domain.loan_penalty); more is an overpayment held
  in suspense, applied
  automatically when the next instalment falls due. PREPAYMENT and PAYOFF also pay the
  interest accrued to date and then principal; DAILY (随借随还) loans always may.
- A partial prepayment re-amortises the remaining principal over the remaining instalments
  (the current period's interest: accrued to date on the old balance, then the rest of the
  period on the new one; the period starts at disbursement or the previous due date, DOMAIN
  §8.4, and an irregular first period counts actual days, §8.5).
- Each allocated component is split between funders by their current balances of that
  component (so a full repayment clears every share); what is billed or crystallised is
  split by the share weights (interest rule, penalty rule) at that moment.
- A guarantor payment (payer GUARANTOR, 代偿) buys the bank's share (claim scope): the covered
  balances move to a guarantor share; later borrower money on that share is a RECOVERY routed
  to the guarantor. A payment on a written-off loan is a recovery split by written-off amounts.
- Penalty starts after the grace days (not retroactive); the due date itself is not overdue.
- A billed instalment not fully paid is DUE on its due date (and grace) and OVERDUE after; the
  status is set whenever the engine processes the loan (the loan's DPD is the authority).
- A claim buys the bank's share at principal + billed interest (DOMAIN §3.6): interest of the
  running period accrued to the claim day is not bought; it accrues to the guarantor, whose
  weights replace the bank's, so the bank's accrued part leaves income by the accrual delta.
- A guarantor's money beyond what the bank's share still holds (the borrower paid first that
  day, or the claim was already paid) is CLAIM_EXCESS, owed back to the guarantor, never
  borrower suspense (DOMAIN §7.1: no double recovery). Suspense that later pays the
  guarantor's share is routed to the guarantor (SUSP_RECOVERY), like a RECOVERY.
- A reversal of a repayment of an earlier day rebuilds the loan (DOMAIN §8.3): from its
  state at the start of that day (lending_loansnapshot) every business day since runs again
  without the repayment (`replay_without`), so a later repayment is allocated as it would have
  been and every rounding point is the one it would have had; the movements since are negated
  and recorded again as replayed, each under its repayment (the reversed one's negation under
  the reversal); a write-off at the program's DPD and the day-end accrual switch (R16) are
  replayed too, the write-off then dated the day the rebuilt loan reaches it (§8.9), and so
  are a claim's raise (on its day as replayed) and a guarantor's claim payments since (a
  claim payment reversed itself: the recoveries since are the bank's collections again).
  Where the history holds what a replay does not redo the same way (a write-off ordered by
  staff, no snapshot), or the repayment was made the same day, the
  reversal restores the loan in place, as if the payment had never been made: the
  instalments it paid are unpaid again; a PREPAYMENT's or PAYOFF's principal returns to the
  schedule (the original rows when nothing else moved them, else re-amortised over the
  instalments not yet billed), a paid-off loan reopens and bills what fell due meanwhile, the
  period accrues again; penalty and compound interest on what is unpaid again run from its due
  date + grace (or from the day it was paid, to which they had been charged), crystallised on
  the reversal day.
- A loan paid off has DPD 0 (and class normal, set by the day's aging) from that day; a
  written-off loan keeps the DPD and class of its write-off day (§8.9).
- Write-off writes off every share's crystallised balances; accrued interest and penalty leave
  income through the accrual delta; a later recovery is split by the open written-off amounts.
- Restored in place (no snapshot), a claim payment is reversible only while the guarantor's
  share still holds what the claim bought; after recoveries on it the reversal is quarantined
  NOT_REVERSIBLE (reverse the recoveries first), never leaving a share negative.
- Known limits of the restore in place: a later payment keeps its allocation; when another
  prepayment still stands, the reversed one's
  principal is re-amortised over the instalments not yet billed (an instalment billed since
  keeps its reduced row), and the period's interest continues piecewise from the last
  crystallisation (within a cent of the direct figure). The original's business date stands
  for the day it was paid.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from decimal import Decimal

from .aging import days_past_due, is_non_accrual
from .loan_reversal import _NOT_PAID_IN, ReversalDay, _guarantor_moved
from .loan_state import (
    CLOSED_STATES,
    COMPONENT_FIELD,
    KEPT_BY_AGING,
    NO_PAYMENT_STATES,
    OPEN_STATES,
    TEN_PLACES,
    DayResult,
    Event,
    Inst,
    LoanState,
    LoanStatus,
    Movement,
    Replay,
    Share,
    Terms,
    status_after_aging,
)
from .money import CENT, ZERO, q2
from .split import weighted_parts

__all__ = ["CENT", "CLOSED_STATES", "COMPONENT_FIELD", "DayResult", "Event", "Inst",
           "KEPT_BY_AGING", "LoanState", "LoanStatus", "Movement", "NO_PAYMENT_STATES",
           "OPEN_STATES", "Share", "TEN_PLACES", "Terms", "loan_day", "q2",
           "status_after_aging", "weighted_parts"]


class _Day(ReversalDay):
    """The working context of one loan's day: accrual and billing (loan_accrual), payments
    (loan_payments), claims and write-off (loan_claims), reversals (loan_reversal)."""


def loan_day(loan: LoanState, terms: Terms, day: date, events: list[Event]) -> DayResult:
    """Everything that happens to one loan on `day`: billing, events, aging transitions.

    A payment counts from its value date (DOMAIN §8.11): the loan is brought forward to each
    event's `value_on` (billing what fell due, penalty to that day, suspense applied) and the
    event applied there; reversals count on the business day. Events keep file order within
    a value date."""
    out = DayResult()
    ctx = _Day(loan, terms, day, out)
    at: list[date | None] = [None]
    replayed = _replay(loan, terms, events, out)

    def step(on: date) -> None:
        at[0] = ctx.day = on
        ctx.advance()
        if loan.overpaid > 0 and loan.state in OPEN_STATES and loan.oldest_unpaid_due_on:
            # Money held in suspense pays what has fallen due (and nothing early).
            ctx._pay(loan.overpaid, kind="SCHEDULED", txn=None, event="SUSPENSE_APPLY")
            ctx.refund_if_closed(None)
            ctx.reweigh_interest()

    def bring_to(on: date) -> None:
        if at[0] == on:
            return
        # The advance pays each instalment on its due date (§8.8), also when the due date is a
        # weekend or holiday and the loan is processed on the next business day (§8.11): no
        # penalty on what the borrower had already paid.
        while loan.overpaid > 0 and loan.state in OPEN_STATES:
            nxt = ctx._inst(loan.billed_seq + 1)
            if nxt is None or nxt.due_on >= on or (at[0] is not None and nxt.due_on <= at[0]):
                break
            step(nxt.due_on)
        step(on)

    def value_date(ev: Event) -> date:
        if ev.kind == "REVERSAL" or ev.value_on is None:
            return day
        return min(ev.value_on, day)

    for ev in sorted(events, key=value_date):
        bring_to(value_date(ev))
        if ev is replayed or ev.rounding_only:
            # the loan is rebuilt without the repayment (_replay): what ran in between is
            # crystallised on the reversal day (§8.3), a rounding point as any reversal's
            if loan.penalty_from is not None:
                ctx.crystallise_penalty(day)
            if ev.original_kind in ("PREPAYMENT", "PAYOFF"):
                ctx.crystallise_period_anew(day)
            ctx.reweigh_interest()
            out.applied_txns.append(ev.txn_id)
            continue
        if ev.kind == "REVERSAL":
            if not ev.original and ev.original_txn_id is not None:  # reversed the same day
                ev.original = tuple(m for m in out.movements
                                    if m[6] == ev.original_txn_id and not m[7])
            if not ev.original:
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "reverses_txn_no",
                                    "the reversed repayment was not applied"))
                continue
            if not _same_amount(ev):
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "amount",
                                    "amount differs from the reversed repayment's"))
                continue
            if _guarantor_moved(loan, ev):
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "reverses_txn_no",
                                    "the guarantor's share has been repaid since the claim "
                                    "payment; reverse those recoveries first"))
                continue
            if (short := ctx.advance_short(ev)) > 0:
                out.rejects.append((ev.txn_id, "NOT_REVERSIBLE", "reverses_txn_no",
                                    f"the advance the repayment left has since been used "
                                    f"beyond what can be taken back ({short} short); "
                                    "reverse the later repayments first"))
                continue
            ctx.reverse(ev)
            ctx.reweigh_interest()
            out.applied_txns.append(ev.txn_id)
            continue
        if loan.state in NO_PAYMENT_STATES:
            out.rejects.append((ev.txn_id, "LOAN_CLOSED", "loan_no",
                                f"loan was paid off on {loan.closed_on}"))
            continue
        if loan.state == "WRITTEN_OFF":
            ctx.write_off_recovery(ev.amount, ev.txn_id)
        elif ev.payer == "GUARANTOR":
            if terms.guarantor_id is None:
                out.rejects.append((ev.txn_id, "BAD_VALUE", "payer",
                                    "the loan's agreement has no guarantor"))
                continue
            ctx.claim_payment(ev.amount, ev.txn_id)
        else:
            ctx._pay(ev.amount, kind=ev.kind, txn=ev.txn_id)
        ctx.refund_if_closed(ev.txn_id)
        ctx.reweigh_interest()
        out.applied_txns.append(ev.txn_id)
    bring_to(day)
    # Aging transitions that change balances (DPD, class and accrual flags are set in SQL).
    if loan.state in OPEN_STATES and loan.oldest_unpaid_due_on is not None:
        dpd = days_past_due(loan.oldest_unpaid_due_on, day)
        loan.dpd = dpd
        if (terms.claim_trigger_dpd is not None and terms.guarantor_id is not None
                and loan.claim_raised_on is None and loan.state != "CLAIMED"
                and dpd >= terms.claim_trigger_dpd):
            ctx.raise_claim()
        if terms.write_off_dpd is not None and dpd >= terms.write_off_dpd:
            ctx.write_off()
            ctx.refund_if_closed(None)
    elif loan.state in OPEN_STATES:
        loan.dpd = 0
    if loan.state in OPEN_STATES and loan.write_off_ordered:
        # 核销 ordered by staff and approved by a second person (controls.requests): the
        # loan is written off today whatever its DPD, which it keeps (§8.9)
        ctx.write_off()
        ctx.refund_if_closed(None)
    # Penalty and compound interest are not crystallised at the end of the day: what runs
    # since `penalty_from` on the current bases is derived (lending/sql/positions.sql) and
    # rounded once when it is crystallised — at billing, a payment, a base change, a claim, a
    # write-off or a reversal (§8.6). Rounding it on every day the loan is touched would make
    # the penalty depend on which days an event happened to fall on (a cent a day apart).
    if loan.state in OPEN_STATES:
        ctx.mark_instalments()
    return out


def _same_amount(ev: Event) -> bool:
    """Whether a reversal's amount is the money its repayment paid in (FILE_FORMATS)."""
    return sum(m[4] for m in ev.original if m[2] not in _NOT_PAID_IN) == ev.amount


def replay_without(rep: Replay, terms: Terms, txn: int
                   ) -> tuple[LoanState, list, tuple | None, Decimal] | None:
    """The loan rebuilt from `rep` as if repayment `txn` had never been made (DOMAIN §8.3):
    each business day since its day run again, with the day's repayments but that one, the
    movements they make, and the claim raised on the way (the loan's claim_raised_on says the
    day), if one is, and what the guarantor's payments since paid of the claim; or the
    write-off it reaches (WRITE_OFF movements, the loan's written_off_on its day; what is paid
    after it a recovery, §7.10). None when a repayment since is refused without it."""
    loan = copy.deepcopy(rep.snapshot)
    movements: list = []
    raised = None
    paid = Decimal(0)
    for d in rep.days:
        evs = [dataclasses.replace(e) for e in rep.events.get(d, ())
               if e.kind == "REVERSAL" or e.txn_id != txn]
        result = loan_day(loan, terms, d, evs)
        if result.rejects:
            return None
        raised = result.claim_raised or raised
        paid += result.claim_paid
        movements.extend(result.movements)
        _age_accrual(loan, terms)
    return loan, movements, raised, paid


def _age_accrual(loan: LoanState, terms: Terms) -> None:
    """The day-end accrual switch of an open loan (R16; the run's aging SQL sets it,
    accruing_sql, held equal to is_non_accrual by the differential test), for a replay's days:
    the movements of its next day carry the flag the run would have had."""
    if terms.non_accrual_dpd is not None and loan.state in OPEN_STATES:
        loan.accruing = not is_non_accrual(loan.dpd, currently_non_accrual=not loan.accruing,
                                           after_dpd=terms.non_accrual_dpd)


def _replay(loan: LoanState, terms: Terms, events: list[Event], out: DayResult) -> Event | None:
    """A reversal that can rebuild its loan (a Replay, the only reversal of the loan today, its
    amount the repayment's): the loan takes the rebuilt state, every movement since the
    repayment's day is negated (the repayment's own as the reversal's) and the rebuilt
    movements are recorded, each under its repayment. Returns that reversal, or None."""
    revs = [e for e in events if e.kind == "REVERSAL"]
    if len(revs) != 1 or (ev := revs[0]).replay is None or ev.original_txn_id is None:
        return None
    if not _same_amount(ev):
        return None  # refused below, as any reversal
    rebuilt = replay_without(ev.replay, terms, ev.original_txn_id)
    if rebuilt is None:
        return None
    state, movements, raised, paid = rebuilt
    if loan.claim_raised_on is not None and state.claim_raised_on is None:
        return None  # (not seen: less money never ages a loan less) its claim row stands
    for fid, had in loan.shares.items():  # a share the loan has stays a row (the guarantor's)
        if fid not in state.shares:
            state.shares[fid] = Share(fid, ZERO, ZERO, ZERO, ZERO, Decimal(0), Decimal(0),
                                      False, ZERO, rate=had.rate)
        elif not had.new:
            state.shares[fid].new = False
    if raised is not None:  # the claim the loan would have had raised (on claim_raised_on)
        out.claim_raised = raised
    # what the guarantor's payments since paid of the claim, as replayed, against as recorded
    out.claim_paid += paid - sum((m[4] for m in ev.replay.window if m[2] == "CLAIM"), ZERO)
    for f in dataclasses.fields(LoanState):
        setattr(loan, f.name, getattr(state, f.name))
    for i in loan.insts:
        i.dirty = True
    for (lid, fid, e, comp, amount, seq, txn, rev, acc) in ev.replay.window:
        if txn == ev.original_txn_id and not rev:
            out.movements.append((lid, fid, e, comp, -amount, seq, ev.txn_id, True, acc))
        else:
            out.movements.append((lid, fid, e, comp, -amount, seq, txn, rev, acc))
    out.movements.extend(movements)
    return ev
