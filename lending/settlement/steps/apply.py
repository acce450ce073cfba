"""Steps 3-5, apply, accrue, age: one loan-id range of a run — the day's events and the
per-loan day (`lending.domain.loan_day`, pure) for every touched loan, written back set-based,
then the ageing of the range."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction

from config import locks
from config.sql_literals import lit
from lending.domain.aging import RiskClass
from lending.domain.loan_day import (
    CLOSED_STATES,
    OPEN_STATES,
    Event,
    Inst,
    LoanState,
    Share,
    Terms,
    loan_day,
)
from lending.domain.loan_day import LoanStatus as S
from lending.intake.models import StagedRowStatus
from lending.settlement.models import MovementEvent, SettlementRun
from lending.settlement.steps.common import (
    _claim_chunk,
    _exec,
    _fetch,
    _finish_chunk,
    _in,
    _lit,
    _raw,
    accruing_sql,
    dpd_sql,
    risk_class_sql,
    status_sql,
)
from lending.settlement.steps.replay import attach_replays, keep_snapshots, snapshot_of
from lending.settlement.steps.write_back import _mark_staged, _write_back
from partners.models import PartnerKind

log = logging.getLogger(__name__)


_TOUCHED = """
SELECT l.id FROM lending_loan l
  JOIN lending_program g ON g.id = l.program_id
  JOIN lending_agreement a ON a.id = g.agreement_id
 WHERE l.partner_id = %(p)s AND l.id BETWEEN %(lo)s AND %(hi)s AND (
       l.id IN (SELECT e.loan_id FROM lending_runevent e
                 WHERE e.run_id = %(run)s AND e.loan_id BETWEEN %(lo)s AND %(hi)s)
    OR (l.state IN {open} AND (
           l.accrual_to <= %(d)s OR l.next_penalty_on < %(d)s
        OR l.write_off_ordered_on <= %(d)s
        OR (l.oldest_unpaid_due_on IS NOT NULL AND (
               l.overpaid_amount > 0
            OR (g.write_off_dpd IS NOT NULL AND l.oldest_unpaid_due_on + g.write_off_dpd <= %(d)s)
            OR (g.claim_trigger_dpd IS NOT NULL AND a.guarantor_id IS NOT NULL
                AND l.claim_raised_on IS NULL AND l.state <> {claimed}
                AND l.oldest_unpaid_due_on + g.claim_trigger_dpd <= %(d)s))))))
 ORDER BY l.id
""".replace("{open}", _in(OPEN_STATES)).replace("{claimed}", lit(S.CLAIMED))

_LOAN_COLS = ("id, program_id, agreement_version_id, state, accruing, overpaid_amount, accrual_from,"
              " accrual_to, accrual_amount, billed_seq, penalty_from, penalty_base, compound_base,"
              " oldest_unpaid_due_on, next_penalty_on, claim_raised_on, claimed_on,"
              " written_off_on, closed_on, dpd, annual_rate, repayment_method, disbursed_on, principal,"
              " write_off_ordered_on, penalty_carry, compound_carry, round_txn_id,"
              " round_penalty_days, round_compound_days, penalty_rounded_on, period_fee")


class _TermsCache:
    """Program and agreement-version terms, loaded once per chunk (a handful of rows)."""

    def __init__(self) -> None:
        self.programs = {
            r[0]: r for r in _fetch(
                """SELECT g.id, g.day_count, g.penalty_multiplier, g.grace_days,
                          g.waterfall_order, g.claim_trigger_dpd, g.claim_scope,
                          g.write_off_dpd, a.guarantor_id, g.non_accrual_dpd
                     FROM lending_program g JOIN lending_agreement a ON a.id = g.agreement_id""",
                [])
        }
        self.bank_id = _fetch(
            f"SELECT id FROM partners_partner WHERE kind = {lit(PartnerKind.BANK)}", [])[0][0]
        self.versions = {
            r[0]: r for r in _fetch(
                """SELECT v.id, v.interest_split_rule,
                          (SELECT f.interest_rate FROM lending_agreementfunder f
                            WHERE f.version_id = v.id AND f.funder_id = %s)
                     FROM lending_agreementversion v""", [self.bank_id])
        }

    def terms(self, program_id: int, version_id: int, rate: Decimal, method: str) -> Terms:
        g = self.programs[program_id]
        v = self.versions[version_id]
        return Terms(
            annual_rate=rate, method=method, day_count=g[1], penalty_multiplier=g[2],
            grace_days=g[3], order=tuple(g[4]), claim_trigger_dpd=g[5], claim_scope=g[6],
            write_off_dpd=g[7], interest_rule=v[1], bank_id=self.bank_id, guarantor_id=g[8],
            bank_yield=v[2], non_accrual_dpd=g[9],
        )


def _load_state(ids: list[int], day: date) -> tuple[dict[int, LoanState], dict[int, tuple]]:
    loans: dict[int, LoanState] = {}
    meta: dict[int, tuple] = {}
    for r in _fetch(f"SELECT {_LOAN_COLS} FROM lending_loan WHERE id = ANY(%s)", [ids]):
        loans[r[0]] = LoanState(
            r[0], r[1], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
            r[14], r[15], r[16], r[17], r[18], r[19], {}, [], r[22], r[23],
            write_off_ordered=r[24] is not None and r[24] <= day,
            penalty_carry=r[25], compound_carry=r[26], round_txn=r[27],
            round_penalty_days=r[28], round_compound_days=r[29], penalty_rounded_on=r[30],
            period_fee=r[31],
        )
        meta[r[0]] = (r[2], r[20], r[21])
    for r in _fetch(
        """SELECT loan_id, funder_id, principal_outstanding, interest_outstanding,
                  penalty_outstanding, compound_outstanding, accrual_weight, penalty_weight,
                  is_residual, funded_principal, claimed_amount, written_off_amount,
                  recovered_amount, interest_rate
             FROM lending_loanshare WHERE loan_id = ANY(%s)""", [ids]):
        share = Share(*r[1:13])
        share.rate = r[13]
        loans[r[0]].shares[r[1]] = share
    for lid, left in _fetch(
            "SELECT loan_id, amount - paid_amount FROM lending_claim WHERE loan_id = ANY(%s)",
            [ids]):
        loans[lid].claim_left = left
    for r in _fetch(
        """SELECT loan_id, seq, due_on, principal_due, interest_due, principal_paid,
                  interest_paid, status, paid_on, penalty_unpaid, compound_unpaid,
                  penalty_paid, compound_paid
             FROM lending_installment WHERE loan_id = ANY(%s) ORDER BY loan_id, seq""", [ids]):
        loans[r[0]].insts.append(Inst(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                      penalty_unpaid=r[9], compound_unpaid=r[10],
                                      penalty_paid=r[11], compound_paid=r[12]))
    return loans, meta


def _load_events(run: SettlementRun, lo: int, hi: int
                 ) -> tuple[dict[int, list[Event]], dict, dict[int, date]]:
    """The day's staged repayments then reversals per loan, in file order; and for each
    reversed repayment of an earlier day, the business day it was applied."""
    params = {"run": run.pk, "lo": lo, "hi": hi}
    events: dict[int, list[Event]] = defaultdict(list)
    rows: dict[int, tuple] = {}  # txn id → (kind, file_id, row_no, raw, amount)
    for (rid, lid, kind, amount, payer, file_id, row_no, txn_no, loan_no, paid_on) in _fetch(
        f"""SELECT r.id, e.loan_id, r.kind, r.amount, r.payer, r.file_id, r.row_no, r.txn_no,
                  r.loan_no, r.paid_on
             FROM lending_runevent e
             JOIN lending_stagedrepayment r ON r.id = e.staged_id
            WHERE e.run_id = %(run)s AND e.kind = 'R' AND e.loan_id BETWEEN %(lo)s AND %(hi)s
              AND r.status = {lit(StagedRowStatus.STAGED)}
            ORDER BY r.row_no""", params):
        events[lid].append(Event(rid, kind, amount, payer, value_on=paid_on))
        rows[rid] = ("R", file_id, row_no, _raw((txn_no, loan_no, paid_on, amount, payer, kind)),
                     amount)
    reversals = _fetch(
        f"""SELECT v.id, e.loan_id, v.amount, r.id, r.status, v.file_id, v.row_no, v.txn_no,
                  v.reverses_txn_no, v.reversed_on, r.paid_on, r.kind
             FROM lending_runevent e
             JOIN lending_stagedreversal v ON v.id = e.staged_id
             JOIN lending_stagedrepayment r ON r.partner_id = v.partner_id
                                           AND r.txn_no = v.reverses_txn_no
            WHERE e.run_id = %(run)s AND e.kind = 'V' AND e.loan_id BETWEEN %(lo)s AND %(hi)s
              AND v.status = {lit(StagedRowStatus.STAGED)}
            ORDER BY v.row_no""", params)
    originals: dict[int, list[tuple]] = defaultdict(list)
    original_on: dict[int, date] = {}
    advance_applied: dict[int, tuple] = {}
    earlier = [r[3] for r in reversals if r[4] == StagedRowStatus.APPLIED]
    if earlier:
        last_id: dict[int, int] = {}
        net: dict[int, dict[tuple, list]] = defaultdict(dict)
        for m in _fetch(
            """SELECT loan_id, funder_id, event, component, amount, installment_seq, txn_id,
                      reversal, accruing, business_date, id
                 FROM lending_movement WHERE txn_id = ANY(%s) AND NOT reversal
                ORDER BY id""", [earlier]):
            # a repayment's rows net: a replay (replay.py) negated them and recorded them again
            key = (m[0], m[1], m[2], m[3], m[5], m[6], m[7], m[8])
            if key in net[m[6]]:
                net[m[6]][key][4] += m[4]
            else:
                net[m[6]][key] = [*m[:9]]
            original_on.setdefault(m[6], m[9])
            last_id[m[6]] = m[10]
        for txn, rows_of in net.items():
            originals[txn] = [tuple(r) for r in rows_of.values() if r[4]]
        advance_applied = _advance_applied(originals, last_id)
    for (vid, lid, amount, orig_id, orig_status, file_id, row_no, txn_no, rev_txn, on,
         orig_paid_on, orig_kind) in reversals:
        # the original counted from its value date (DOMAIN §8.11), never after its run's day
        applied_on = original_on.get(orig_id, run.business_date)
        events[lid].append(Event(vid, "REVERSAL", amount, original=tuple(originals[orig_id]),
                                 original_txn_id=orig_id, original_kind=orig_kind,
                                 original_on=min(orig_paid_on or applied_on, applied_on),
                                 advance_applied=advance_applied.get(orig_id, ())))
        rows[vid] = ("V", file_id, row_no, _raw((txn_no, rev_txn, on, amount)), amount,
                     orig_status)
    return events, rows, original_on


def _advance_applied(originals: dict[int, list[tuple]],
                     last_id: dict[int, int]) -> dict[int, tuple]:
    """For each reversed repayment that left an advance (an OVERPAY movement): the loan's
    suspense applications and refunds recorded after it (with their negations), in order. One query for
    the chunk's reversals, on the loan index."""
    wanted = {txn: rows[0][0] for txn, rows in originals.items()
              if any(m[2] == MovementEvent.OVERPAY for m in rows)}
    if not wanted:
        return {}
    rows = _fetch(
        """SELECT loan_id, funder_id, event, component, amount, installment_seq, txn_id,
                  reversal, accruing, id
             FROM lending_movement
            WHERE loan_id = ANY(%s) AND event IN {applied}
            ORDER BY id""".format(applied=_in([MovementEvent.SUSPENSE_APPLY,
                                               MovementEvent.SUSP_RECOVERY,
                                               MovementEvent.REFUND])),
        [sorted(set(wanted.values()))])
    return {txn: tuple(m[:9] for m in rows if m[0] == loan and m[9] > last_id[txn])
            for txn, loan in wanted.items()}


_AGING = """
WITH x AS (
    SELECT l.id,
           {dpd} AS dpd,
           g.special_mention_dpd, g.substandard_dpd, g.doubtful_dpd, g.loss_dpd,
           g.non_accrual_dpd
      FROM lending_loan l JOIN lending_program g ON g.id = l.program_id
     WHERE l.partner_id = %(p)s AND l.id BETWEEN %(lo)s AND %(hi)s
       AND (l.state IN {open}
            AND (l.oldest_unpaid_due_on IS NOT NULL OR l.dpd <> 0 OR NOT l.accruing
                 OR l.state = {overdue} OR l.risk_class <> {normal})
            -- DOMAIN §8.9: a loan closed today takes the day's DPD and class (0 and normal
            -- when paid off), which then stay frozen.
            OR (l.state = {paid_off} AND l.closed_on <= %(d)s
                AND (l.dpd <> 0 OR l.risk_class <> {normal}))
            -- a loan written off today, or on an earlier day by a reversal's rebuild
            -- (replay.py): the DPD and class of its write-off day (§8.9)
            OR (l.state = {written_off}
                AND (l.written_off_on = %(d)s OR l.id = ANY(%(written_off)s))))
)
UPDATE lending_loan l SET
    dpd = x.dpd,
    risk_class = {risk_class},
    -- R16: non-accrual once DPD passes the threshold; back only when arrears are cleared
    -- (a closed loan keeps its flag: its reversals post where its payments posted).
    accruing = CASE WHEN l.state IN {closed} THEN l.accruing ELSE {accruing} END,
    state = {status}
  FROM x
 WHERE l.id = x.id
   AND (l.dpd, l.risk_class, l.accruing, l.state) IS DISTINCT FROM (
        x.dpd,
        {risk_class},
        CASE WHEN l.state IN {closed} THEN l.accruing ELSE {accruing} END,
        {status})
""".format(
    dpd=dpd_sql("l.oldest_unpaid_due_on", "LEAST(%(d)s, l.written_off_on)"),
    risk_class=risk_class_sql("x"),
    accruing=accruing_sql("x.dpd", "x.non_accrual_dpd", "l.accruing"),
    open=_in(OPEN_STATES), closed=_in(CLOSED_STATES),
    paid_off=_lit(S.PAID_OFF), written_off=_lit(S.WRITTEN_OFF), overdue=_lit(S.OVERDUE),
    normal=_lit(RiskClass.NORMAL), status=status_sql("l.state", "x.dpd"))


@transaction.atomic
def apply_chunk(*, run_id: int, seq: int) -> dict:
    """Apply one loan-id range of a run: events, billing, accruals crystallised, aging."""
    started = time.monotonic()
    run = SettlementRun.objects.get(pk=run_id)
    locks.xact(locks.SETTLEMENT_APPLY_CHUNK, run_id, seq)
    chunk = _claim_chunk(run, "APPLY", seq)
    if chunk is None:
        return {"skipped": True}
    day, lo, hi = run.business_date, chunk.lo_id, chunk.hi_id
    written_off: list[int] = []  # written off today, or on an earlier day by a replay
    params = {"p": run.partner_id, "d": day, "lo": lo, "hi": hi, "run": run.pk,
              "written_off": written_off}
    ids = [r[0] for r in _fetch(_TOUCHED, params)]
    stats = {"touched": len(ids), "movements": 0, "applied": 0, "quarantined": 0}
    if ids:
        loans, meta = _load_state(ids, day)
        events, rows, applied_day = _load_events(run, lo, hi)
        attach_replays(run, loans, events, applied_day)
        snapshots: list[tuple[int, dict]] = []
        cache = _TermsCache()
        movements: list[tuple] = []
        raised: list[tuple] = []
        paid_claims: list[tuple] = []
        applied_r: list[int] = []
        applied_v: list[int] = []
        rejects: list[tuple] = []
        for lid in ids:
            loan = loans[lid]
            version_id, rate, method = meta[lid]
            terms = cache.terms(loan.program_id, version_id, rate, method)
            evs = events.get(lid, [])
            if (snapshot := snapshot_of(loan, evs)) is not None:
                snapshots.append((lid, snapshot))
            was = (loan.state, loan.written_off_on)
            result = loan_day(loan, terms, day, evs)
            if loan.state == S.WRITTEN_OFF and (loan.state, loan.written_off_on) != was:
                written_off.append(lid)
            for m in result.movements:
                movements.append(m)
            if result.claim_raised and terms.guarantor_id is not None:
                raised.append((lid, terms.guarantor_id, *result.claim_raised))
            if result.claim_paid:
                paid_claims.append((lid, terms.guarantor_id, result.claim_paid))
            for txn in result.applied_txns:
                (applied_v if rows[txn][0] == "V" else applied_r).append(txn)
            for txn, code, col, msg in result.rejects:
                rejects.append((txn, code, col, msg))
        _write_back(run, loans, movements, raised, paid_claims)
        keep_snapshots(day, snapshots)
        _mark_staged(run, rows, applied_r, applied_v, rejects)
        stats.update(movements=len(movements), applied=len(applied_r) + len(applied_v),
                     quarantined=len(rejects))
    stats["aged"] = _exec(_AGING, params)
    _finish_chunk(chunk, stats["touched"], started)
    log.info("apply run=%s chunk=%s %s ms=%d", run_id, seq, stats, chunk.ms)
    return stats
