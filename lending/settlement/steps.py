"""The per-loan steps of a run (DESIGN §6, 2–5) as idempotent chunks, set-based end to end.

A chunk: extract (one query per table for the chunk's loans) → compute (`engine.loan_day`,
pure) → load (COPY into temp tables) → apply (`UPDATE … FROM`, `INSERT … SELECT`) → aging
(one UPDATE over the chunk's id range) → mark the chunk done, all in one transaction.
No per-loan ORM call anywhere.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql as pgsql

from lending import services
from lending.domain.aging import RISK_CLASS_ORDER, RiskClass
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
from lending.settlement.copyio import copy_rows
from lending.settlement.models import RunChunk, SettlementRun

log = logging.getLogger(__name__)

# Loans per apply chunk. A chunk holds the touched loans of its range in memory (a few KB each
# with their schedule) and runs in one transaction: 50,000 keeps a chunk to a few seconds and
# well under 100 MB, and gives several chunks per worker at a million loans.
APPLY_CHUNK_LOANS = 50_000
OPEN = OPEN_STATES


# The domain's rules rendered into the SQL of the apply step (one definition: lending.domain).
def _lit(value) -> str:
    return pgsql.Literal(str(value)).as_string(None)


def _in(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


_CLASS_COLUMN = {RiskClass.SPECIAL_MENTION: "special_mention_dpd",
                 RiskClass.SUBSTANDARD: "substandard_dpd", RiskClass.DOUBTFUL: "doubtful_dpd",
                 RiskClass.LOSS: "loss_dpd"}


def risk_class_sql(alias: str) -> str:
    """lending.domain.aging.risk_class as SQL over `alias`.dpd and the program's thresholds
    (`alias`.special_mention_dpd … loss_dpd): the worst class whose first DPD is reached."""
    whens = " ".join(f"WHEN {alias}.dpd >= {alias}.{_CLASS_COLUMN[c]} THEN {_lit(c)}"
                     for c in reversed(RISK_CLASS_ORDER) if c in _CLASS_COLUMN)
    return f"CASE {whens} ELSE {_lit(RiskClass.NORMAL)} END"


def accruing_sql(dpd: str, after_dpd: str, accruing: str) -> str:
    """lending.domain.aging.is_non_accrual (R16, arrears cleared to cure) as SQL: whether the
    loan accrues at the day-end: not beyond `after_dpd`; back only when the DPD is 0."""
    return (f"CASE WHEN {dpd} > {after_dpd} THEN false WHEN {accruing} THEN true"
            f" ELSE {dpd} <= 0 END")


def dpd_sql(oldest: str, day: str) -> str:
    """lending.domain.aging.days_past_due (the due date is not overdue) as SQL."""
    return f"CASE WHEN {oldest} IS NULL THEN 0 ELSE GREATEST({day} - {oldest}, 0) END"


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _exec(sql: str, params=None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _advisory_xact_lock(*keys: int) -> None:
    _exec("SELECT pg_advisory_xact_lock(%s, %s)", [keys[0], keys[1]])


def _claim_chunk(run: SettlementRun, step: str, seq: int) -> RunChunk | None:
    """Lock the chunk for this transaction; None if it is already done (a rerun skips it)."""
    chunk = RunChunk.objects.select_for_update().get(run=run, step=step, seq=seq)
    return None if chunk.done_at else chunk


def _finish_chunk(chunk: RunChunk, rows: int, started: float) -> None:
    chunk.done_at = timezone.now()
    chunk.rows = rows
    chunk.ms = int((time.monotonic() - started) * 1000)
    chunk.save(update_fields=["done_at", "rows", "ms"])


def _raw(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _quarantine(partner_id: int, day: date, rows: list[tuple]) -> None:
    """rows: (file_id, row_no, column, reason, message, raw, amount) — stage APPLY."""
    now = timezone.now()
    copy_rows(
        "partners_quarantinedrow",
        ("file_id", "partner_id", "business_date", "row_no", "column", "reason", "message", "raw",
         "amount", "stage", "created_at", "resolved", "resolution_note"),
        ((f, partner_id, day, n, col, reason, msg, raw, amt, "APPLY", now, False, "")
         for f, n, col, reason, msg, raw, amt in rows),
    )


# --- Step 2: book --------------------------------------------------------------------------


# Staged loans per book chunk: schedules are built in Python, so booking a day's 30,000 new
# loans is spread over the workers like the apply step. Small enough that the chunks even out
# over the workers (3 chunks of 10,000 on 2 workers took two rounds, the second on one worker).
BOOK_CHUNK_LOANS = 2_500


# Apply chunks are cut from a sample of the partner's loans: the exact cut (a count, then ntile
# over every id) read and sorted the whole loan table, 1.3-1.8 s a day at a million loans before
# any chunk could start. The sample is of pages (TABLESAMPLE SYSTEM), each holding ~20 loans of
# neighbouring ids, so it is coarser than its row count suggests: at 1,090,000 loans and 50,000
# asked per chunk, a 1 % sample (~15-40 ms) gave chunks of 29,600-63,000 loans, 5 % of
# 40,700-57,300, 10 % (~0.1 s) of 44,400-56,700. The ends are the partner's exact first and last
# id (two index probes, ~0.14 s with 250,000 loans of another partner before the first): a first
# range from 0 took in the other partner's loans too, and its ageing statement a hash join over
# the whole loan table (3.6 s against ~1.7 s for the other chunks). Below SAMPLE_MIN_ROWS
# sampled rows (a partner of fewer than ~100,000 loans) the exact cut is cheap and is used.
SAMPLE_PERCENT = 10.0
SAMPLE_MIN_ROWS = 10_000


def _plan_chunks(run: SettlementRun, step: str, *, table: str, key: str, where: str,
                 params: list, per_chunk: int, sample: float | None = None,
                 sample_min_rows: int | None = None) -> int:
    """Cut the rows of `table` matching `where` into balanced ranges of `key` (about
    `per_chunk` rows each) and record them as the step's chunks; returns their number.

    Exact (ntile over every row) unless `sample` (a percentage of the table's pages) is given
    and the sample holds at least `sample_min_rows` rows: then the boundaries are quantiles of
    the sampled keys, and the ranges are contiguous from the smallest key matching `where` to
    the largest, so that every such row lies in exactly one chunk whatever the sample missed."""
    if sample is not None:
        keys = sorted(r[0] for r in _fetch(
            f"SELECT {key} FROM {table} TABLESAMPLE SYSTEM (%s) REPEATABLE (0) WHERE {where}",
            [sample, *params]))
        if len(keys) >= (SAMPLE_MIN_ROWS if sample_min_rows is None else sample_min_rows):
            n = max(1, round(len(keys) * 100 / sample / per_chunk))
            ((first, last),) = _fetch(f"SELECT min({key}), max({key}) FROM {table} WHERE {where}",
                                      params)
            cuts = sorted({keys[len(keys) * k // n] for k in range(1, n)} - {first})
            ranges = list(zip([first, *cuts], [c - 1 for c in cuts] + [last], strict=True))
            return _record_chunks(run, step, ranges)
    (count,) = _fetch(f"SELECT count(*) FROM {table} WHERE {where}", params)[0]
    n = max(1, -(-count // per_chunk))
    ranges = _fetch(
        f"""SELECT min({key}), max({key}) FROM (
                SELECT {key}, ntile(%s) OVER (ORDER BY {key}) AS t FROM {table}
                 WHERE {where}) x
            GROUP BY t ORDER BY 1""", [n, *params]) or [(0, 0)]
    return _record_chunks(run, step, ranges)


def _record_chunks(run: SettlementRun, step: str, ranges: list[tuple[int, int]]) -> int:
    RunChunk.objects.bulk_create(RunChunk(run=run, step=step, seq=i, lo_id=lo, hi_id=hi)
                                 for i, (lo, hi) in enumerate(ranges))
    return len(ranges)


@transaction.atomic
def plan_book(run: SettlementRun, chunk_loans: int | None = None) -> int:
    """Balanced row-number ranges of the run's staged loans; idempotent (returns the count)."""
    existing = RunChunk.objects.filter(run=run, step="BOOK").count()
    if existing:
        return existing
    _exec("ANALYZE lending_stagedloan")  # the day's file, staged since the last statistics
    return _plan_chunks(run, "BOOK", table="lending_stagedloan", key="row_no",
                        where="partner_id = %s AND business_date = %s AND status = 'STAGED'",
                        params=[run.partner_id, run.business_date],
                        per_chunk=chunk_loans or BOOK_CHUNK_LOANS)


@transaction.atomic
def book_chunk(*, run_id: int, seq: int = 0) -> int:
    """Book one row range of the run's staged loans (shares, schedules) and their DISBURSE
    movements; a chunk already done is skipped."""
    started = time.monotonic()
    run = SettlementRun.objects.select_related("partner").get(pk=run_id)
    chunk = _claim_chunk(run, "BOOK", seq)
    if chunk is None:
        return 0
    day, partner = run.business_date, run.partner
    staged = _fetch(
        """SELECT id, file_id, row_no, loan_no, program_id, borrower_token, principal,
                  annual_rate, term_months, repayment_method, disbursed_on, first_due_on,
                  bank_approval_ref
             FROM lending_stagedloan
            WHERE partner_id = %s AND business_date = %s AND status = 'STAGED'
              AND row_no BETWEEN %s AND %s
            ORDER BY row_no""",
        [partner.pk, day, chunk.lo_id, chunk.hi_id],
    )
    by_ref = {str(r[0]): r for r in staged}
    result = services.loans_book(
        loans=[services.LoanToBook(
            partner_id=partner.pk, loan_no=r[3], program_id=r[4], borrower_token=r[5],
            principal=r[6], annual_rate=r[7], term_months=r[8], repayment_method=r[9],
            disbursed_on=r[10], first_due_on=r[11], bank_approval_ref=r[12], source_ref=str(r[0]),
        ) for r in staged],
        booked_on=day,
    )
    rejected_ids = {int(x.source_ref) for x in result.rejected}
    if result.rejected:
        _quarantine(partner.pk, day, [
            (by_ref[x.source_ref][1], by_ref[x.source_ref][2], x.column, x.reason, x.message,
             _raw(by_ref[x.source_ref][3:]), by_ref[x.source_ref][6])
            for x in result.rejected
        ])
        _exec("UPDATE lending_stagedloan SET status = 'QUARANTINED', applied_at = now()"
              " WHERE id = ANY(%s)", [sorted(rejected_ids)])
    booked = [r for r in staged if r[0] not in rejected_ids]
    _exec("UPDATE lending_stagedloan SET status = 'APPLIED', applied_at = now()"
          " WHERE id = ANY(%s)", [[r[0] for r in booked]])
    disburse_movements(run, loan_nos=[r[3] for r in booked])
    _finish_chunk(chunk, len(staged), started)
    log.info("book run=%s rows=%d booked=%d rejected=%d", run.pk, len(staged), result.booked,
             len(result.rejected))
    return result.booked


def disburse_movements(run: SettlementRun, *, loan_nos: list[str] | None) -> int:
    """The DISBURSE movement of every funded share of the partner's loans booked on the run's
    date: those numbered `loan_nos` (a book chunk's), or all of them (None)."""
    only = "AND l.loan_no = ANY(%(nos)s)" if loan_nos is not None else ""
    return _exec(
        f"""INSERT INTO lending_movement (business_date, run_id, loan_id, program_id, funder_id,
                   event, component, amount, installment_seq, txn_id, reversal, accruing)
            SELECT %(d)s, %(run)s, l.id, l.program_id, s.funder_id, 'DISBURSE', 'PRINCIPAL',
                   s.funded_principal, NULL, NULL, false, true
              FROM lending_loan l JOIN lending_loanshare s ON s.loan_id = l.id
             WHERE l.partner_id = %(p)s AND l.booked_on = %(d)s {only}
               AND s.funded_principal <> 0""",
        {"d": run.business_date, "run": run.pk, "p": run.partner_id, "nos": loan_nos})


# --- Steps 3–5: apply, accrue, age ------------------------------------------------------------


_EVENTS = """
INSERT INTO lending_runevent (run_id, loan_id, kind, staged_id)
SELECT %(run)s, l.id, 'R', r.id
  FROM lending_stagedrepayment r
  JOIN lending_loan l ON l.partner_id = r.partner_id AND l.loan_no = r.loan_no
 WHERE r.partner_id = %(p)s AND r.business_date = %(d)s AND r.status = 'STAGED'
UNION ALL
SELECT %(run)s, l.id, 'V', v.id
  FROM lending_stagedreversal v
  JOIN lending_stagedrepayment r ON r.partner_id = v.partner_id AND r.txn_no = v.reverses_txn_no
  JOIN lending_loan l ON l.partner_id = r.partner_id AND l.loan_no = r.loan_no
 WHERE v.partner_id = %(p)s AND v.business_date = %(d)s AND v.status = 'STAGED'
"""


@transaction.atomic
def plan_apply(run: SettlementRun, chunk_loans: int | None = None) -> int:
    """Balanced loan-id ranges of the partner's loans (cut from a sample), and the day's staged
    events resolved to their loans (RunEvent) for the chunks to find by range; idempotent."""
    existing = RunChunk.objects.filter(run=run, step="APPLY").count()
    if existing:
        return existing
    _exec(_EVENTS, {"run": run.pk, "p": run.partner_id, "d": run.business_date})
    # Freshly staged rows and events: statistics before the chunks plan their reads. Without
    # them a chunk's join of its events to the day's staged repayments (statistics from
    # before the day's file) was planned as a scan per event: 7.6 s a chunk instead of 36 ms,
    # until autovacuum happened to analyse the table mid-run.
    _exec("ANALYZE lending_runevent, lending_stagedrepayment, lending_stagedreversal")
    return _plan_chunks(run, "APPLY", table="lending_loan", key="id", where="partner_id = %s",
                        params=[run.partner_id], per_chunk=chunk_loans or APPLY_CHUNK_LOANS,
                        sample=SAMPLE_PERCENT)


_TOUCHED = """
SELECT l.id FROM lending_loan l
  JOIN lending_program g ON g.id = l.program_id
  JOIN lending_agreement a ON a.id = g.agreement_id
 WHERE l.partner_id = %(p)s AND l.id BETWEEN %(lo)s AND %(hi)s AND (
       l.id IN (SELECT e.loan_id FROM lending_runevent e
                 WHERE e.run_id = %(run)s AND e.loan_id BETWEEN %(lo)s AND %(hi)s)
    OR (l.state IN {open} AND (
           l.accrual_to <= %(d)s OR l.next_penalty_on < %(d)s
        OR (l.oldest_unpaid_due_on IS NOT NULL AND (
               l.overpaid_amount > 0
            OR (g.write_off_dpd IS NOT NULL AND l.oldest_unpaid_due_on + g.write_off_dpd <= %(d)s)
            OR (g.claim_trigger_dpd IS NOT NULL AND a.guarantor_id IS NOT NULL
                AND l.claim_raised_on IS NULL AND l.state <> 'CLAIMED'
                AND l.oldest_unpaid_due_on + g.claim_trigger_dpd <= %(d)s))))))
 ORDER BY l.id
""".replace("{open}", _in(OPEN_STATES))

_LOAN_COLS = ("id, program_id, agreement_version_id, state, accruing, overpaid_amount, accrual_from,"
              " accrual_to, accrual_amount, billed_seq, penalty_from, penalty_base, compound_base,"
              " oldest_unpaid_due_on, next_penalty_on, claim_raised_on, claimed_on,"
              " written_off_on, closed_on, dpd, annual_rate, repayment_method, disbursed_on, principal")


class _TermsCache:
    """Program and agreement-version terms, loaded once per chunk (a handful of rows)."""

    def __init__(self) -> None:
        self.programs = {
            r[0]: r for r in _fetch(
                """SELECT g.id, g.day_count, g.penalty_multiplier, g.grace_days,
                          g.waterfall_order, g.claim_trigger_dpd, g.claim_scope,
                          g.write_off_dpd, a.guarantor_id
                     FROM lending_program g JOIN lending_agreement a ON a.id = g.agreement_id""",
                [])
        }
        self.bank_id = _fetch("SELECT id FROM partners_partner WHERE kind = 'BANK'", [])[0][0]
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
            bank_yield=v[2],
        )


def _load_state(ids: list[int]) -> tuple[dict[int, LoanState], dict[int, tuple]]:
    loans: dict[int, LoanState] = {}
    meta: dict[int, tuple] = {}
    for r in _fetch(f"SELECT {_LOAN_COLS} FROM lending_loan WHERE id = ANY(%s)", [ids]):
        loans[r[0]] = LoanState(
            r[0], r[1], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
            r[14], r[15], r[16], r[17], r[18], r[19], {}, [], r[22], r[23],
        )
        meta[r[0]] = (r[2], r[20], r[21])
    for r in _fetch(
        """SELECT loan_id, funder_id, principal_outstanding, interest_outstanding,
                  penalty_outstanding, compound_outstanding, accrual_weight, penalty_weight,
                  is_residual, funded_principal, claimed_amount, written_off_amount,
                  recovered_amount
             FROM lending_loanshare WHERE loan_id = ANY(%s)""", [ids]):
        loans[r[0]].shares[r[1]] = Share(*r[1:])
    for r in _fetch(
        """SELECT loan_id, seq, due_on, principal_due, interest_due, principal_paid,
                  interest_paid, status, paid_on
             FROM lending_installment WHERE loan_id = ANY(%s) ORDER BY loan_id, seq""", [ids]):
        loans[r[0]].insts.append(Inst(*r[1:]))
    return loans, meta


def _load_events(run: SettlementRun, lo: int, hi: int) -> tuple[dict[int, list[Event]], dict]:
    """The day's staged repayments then reversals per loan, in file order."""
    params = {"run": run.pk, "lo": lo, "hi": hi}
    events: dict[int, list[Event]] = defaultdict(list)
    rows: dict[int, tuple] = {}  # txn id → (kind, file_id, row_no, raw, amount)
    for (rid, lid, kind, amount, payer, file_id, row_no, txn_no, loan_no, paid_on) in _fetch(
        """SELECT r.id, e.loan_id, r.kind, r.amount, r.payer, r.file_id, r.row_no, r.txn_no,
                  r.loan_no, r.paid_on
             FROM lending_runevent e
             JOIN lending_stagedrepayment r ON r.id = e.staged_id
            WHERE e.run_id = %(run)s AND e.kind = 'R' AND e.loan_id BETWEEN %(lo)s AND %(hi)s
              AND r.status = 'STAGED'
            ORDER BY r.row_no""", params):
        events[lid].append(Event(rid, kind, amount, payer, value_on=paid_on))
        rows[rid] = ("R", file_id, row_no, _raw((txn_no, loan_no, paid_on, amount, payer, kind)),
                     amount)
    reversals = _fetch(
        """SELECT v.id, e.loan_id, v.amount, r.id, r.status, v.file_id, v.row_no, v.txn_no,
                  v.reverses_txn_no, v.reversed_on, r.paid_on
             FROM lending_runevent e
             JOIN lending_stagedreversal v ON v.id = e.staged_id
             JOIN lending_stagedrepayment r ON r.partner_id = v.partner_id
                                           AND r.txn_no = v.reverses_txn_no
            WHERE e.run_id = %(run)s AND e.kind = 'V' AND e.loan_id BETWEEN %(lo)s AND %(hi)s
              AND v.status = 'STAGED'
            ORDER BY v.row_no""", params)
    originals: dict[int, list[tuple]] = defaultdict(list)
    original_on: dict[int, date] = {}
    earlier = [r[3] for r in reversals if r[4] == "APPLIED"]
    if earlier:
        for m in _fetch(
            """SELECT loan_id, funder_id, event, component, amount, installment_seq, txn_id,
                      reversal, accruing, business_date
                 FROM lending_movement WHERE txn_id = ANY(%s) AND NOT reversal
                ORDER BY id""", [earlier]):
            originals[m[6]].append(m[:9])
            original_on[m[6]] = m[9]
    for (vid, lid, amount, orig_id, orig_status, file_id, row_no, txn_no, rev_txn, on,
         orig_paid_on) in reversals:
        # the original counted from its value date (DOMAIN §8.11), never after its run's day
        applied_on = original_on.get(orig_id, run.business_date)
        events[lid].append(Event(vid, "REVERSAL", amount, original=tuple(originals[orig_id]),
                                 original_txn_id=orig_id,
                                 original_on=min(orig_paid_on or applied_on, applied_on)))
        rows[vid] = ("V", file_id, row_no, _raw((txn_no, rev_txn, on, amount)), amount,
                     orig_status)
    return events, rows


_T_LOAN = ("id", "state", "accruing", "overpaid_amount", "accrual_from", "accrual_to",
           "accrual_amount", "billed_seq", "penalty_from", "penalty_base", "compound_base",
           "oldest_unpaid_due_on", "next_penalty_on", "claim_raised_on", "claimed_on",
           "written_off_on", "closed_on", "dpd", "principal_outstanding", "interest_outstanding",
           "penalty_outstanding", "compound_outstanding")
_T_SHARE = ("loan_id", "funder_id", "principal_outstanding", "interest_outstanding",
            "penalty_outstanding", "compound_outstanding", "accrual_weight", "penalty_weight",
            "funded_principal", "claimed_amount", "written_off_amount", "recovered_amount",
            "is_new")
_T_INST = ("loan_id", "seq", "principal_due", "interest_due", "principal_paid", "interest_paid",
           "status", "paid_on")


def _create_temp_tables() -> None:
    _exec("""
        CREATE TEMP TABLE IF NOT EXISTS t_loan (
            id bigint, state varchar(12), accruing boolean, overpaid_amount numeric,
            accrual_from date, accrual_to date, accrual_amount numeric, billed_seq int,
            penalty_from date, penalty_base numeric, compound_base numeric,
            oldest_unpaid_due_on date, next_penalty_on date, claim_raised_on date,
            claimed_on date, written_off_on date, closed_on date, dpd int,
            principal_outstanding numeric, interest_outstanding numeric,
            penalty_outstanding numeric, compound_outstanding numeric) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS t_share (
            loan_id bigint, funder_id bigint, principal_outstanding numeric,
            interest_outstanding numeric, penalty_outstanding numeric,
            compound_outstanding numeric, accrual_weight numeric, penalty_weight numeric,
            funded_principal numeric, claimed_amount numeric, written_off_amount numeric,
            recovered_amount numeric, is_new boolean) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS t_inst (
            loan_id bigint, seq int, principal_due numeric, interest_due numeric,
            principal_paid numeric, interest_paid numeric, status varchar(8), paid_on date)
            ON COMMIT DROP;
        -- Inside an enclosing transaction (tests, eager mode) the tables outlive a chunk.
        TRUNCATE t_loan, t_share, t_inst;
    """)


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
            OR (l.state = {written_off} AND l.written_off_on = %(d)s))
)
UPDATE lending_loan l SET
    dpd = x.dpd,
    risk_class = {risk_class},
    -- R16: non-accrual once DPD passes the threshold; back only when arrears are cleared
    -- (a closed loan keeps its flag: its reversals post where its payments posted).
    accruing = CASE WHEN l.state IN {closed} THEN l.accruing ELSE {accruing} END,
    state = CASE WHEN l.state IN {kept} THEN l.state
                 WHEN x.dpd > 0 THEN {overdue} ELSE {active} END
  FROM x
 WHERE l.id = x.id
   AND (l.dpd, l.risk_class, l.accruing, l.state) IS DISTINCT FROM (
        x.dpd,
        {risk_class},
        CASE WHEN l.state IN {closed} THEN l.accruing ELSE {accruing} END,
        CASE WHEN l.state IN {kept} THEN l.state
             WHEN x.dpd > 0 THEN {overdue} ELSE {active} END)
""".format(
    dpd=dpd_sql("l.oldest_unpaid_due_on", "%(d)s"), risk_class=risk_class_sql("x"),
    accruing=accruing_sql("x.dpd", "x.non_accrual_dpd", "l.accruing"),
    open=_in(OPEN_STATES), closed=_in(CLOSED_STATES), kept=_in((S.CLAIMED, *CLOSED_STATES)),
    paid_off=_lit(S.PAID_OFF), written_off=_lit(S.WRITTEN_OFF), overdue=_lit(S.OVERDUE),
    active=_lit(S.ACTIVE), normal=_lit(RiskClass.NORMAL))


@transaction.atomic
def apply_chunk(*, run_id: int, seq: int) -> dict:
    """Apply one loan-id range of a run: events, billing, accruals crystallised, aging."""
    started = time.monotonic()
    run = SettlementRun.objects.get(pk=run_id)
    _advisory_xact_lock(run_id, seq)
    chunk = _claim_chunk(run, "APPLY", seq)
    if chunk is None:
        return {"skipped": True}
    day, lo, hi = run.business_date, chunk.lo_id, chunk.hi_id
    params = {"p": run.partner_id, "d": day, "lo": lo, "hi": hi, "run": run.pk}
    ids = [r[0] for r in _fetch(_TOUCHED, params)]
    stats = {"touched": len(ids), "movements": 0, "applied": 0, "quarantined": 0}
    if ids:
        loans, meta = _load_state(ids)
        events, rows = _load_events(run, lo, hi)
        cache = _TermsCache()
        movements: list[tuple] = []
        raised: list[tuple] = []
        paid_claims: list[tuple] = []
        applied_r, applied_v, rejects = [], [], []
        for lid in ids:
            loan = loans[lid]
            version_id, rate, method = meta[lid]
            terms = cache.terms(loan.program_id, version_id, rate, method)
            evs = events.get(lid, [])
            result = loan_day(loan, terms, day, evs)
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
        _mark_staged(run, rows, applied_r, applied_v, rejects)
        stats.update(movements=len(movements), applied=len(applied_r) + len(applied_v),
                     quarantined=len(rejects))
    stats["aged"] = _exec(_AGING, params)
    _finish_chunk(chunk, stats["touched"], started)
    log.info("apply run=%s chunk=%s %s ms=%d", run_id, seq, stats, chunk.ms)
    return stats


def _write_back(run: SettlementRun, loans: dict[int, LoanState], movements: list[tuple],
                raised: list[tuple], paid_claims: list[tuple]) -> None:
    _create_temp_tables()
    zero = Decimal("0.00")

    def loan_rows():
        for ln in loans.values():
            sh = ln.shares.values()
            yield (ln.id, ln.state, ln.accruing, ln.overpaid, ln.accrual_from, ln.accrual_to,
                   ln.accrual_amount, ln.billed_seq, ln.penalty_from, ln.penalty_base,
                   ln.compound_base, ln.oldest_unpaid_due_on, ln.next_penalty_on,
                   ln.claim_raised_on, ln.claimed_on, ln.written_off_on, ln.closed_on, ln.dpd,
                   sum((s.principal for s in sh), zero), sum((s.interest for s in sh), zero),
                   sum((s.penalty for s in sh), zero), sum((s.compound for s in sh), zero))

    copy_rows("t_loan", _T_LOAN, loan_rows())
    copy_rows("t_share", _T_SHARE, (
        (ln.id, s.funder_id, s.principal, s.interest, s.penalty, s.compound, s.accrual_weight,
         s.penalty_weight, s.funded, s.claimed, s.written_off, s.recovered, s.new)
        for ln in loans.values() for s in ln.shares.values()))
    copy_rows("t_inst", _T_INST, (
        (ln.id, i.seq, i.principal_due, i.interest_due, i.principal_paid, i.interest_paid,
         i.status, i.paid_on)
        for ln in loans.values() for i in ln.insts if i.dirty))
    sets = ", ".join(f"{c} = t.{c}" for c in _T_LOAN[1:])
    _exec(f"UPDATE lending_loan l SET {sets} FROM t_loan t WHERE l.id = t.id")
    share_sets = ", ".join(f"{c} = t.{c}" for c in _T_SHARE[2:-1])
    _exec(f"""UPDATE lending_loanshare s SET {share_sets} FROM t_share t
               WHERE s.loan_id = t.loan_id AND s.funder_id = t.funder_id AND NOT t.is_new""")
    _exec("""INSERT INTO lending_loanshare (loan_id, funder_id, ratio, interest_rate,
                    funded_principal, principal_outstanding, interest_outstanding,
                    penalty_outstanding, compound_outstanding, claimed_amount,
                    written_off_amount, recovered_amount, accrual_weight, penalty_weight,
                    is_residual)
             SELECT loan_id, funder_id, 0, NULL, funded_principal, principal_outstanding,
                    interest_outstanding, penalty_outstanding, compound_outstanding,
                    claimed_amount, written_off_amount, recovered_amount, accrual_weight,
                    penalty_weight, false
               FROM t_share WHERE is_new""")
    _exec("""UPDATE lending_installment i SET principal_due = t.principal_due,
                    interest_due = t.interest_due, principal_paid = t.principal_paid,
                    interest_paid = t.interest_paid, status = t.status, paid_on = t.paid_on
               FROM t_inst t WHERE i.loan_id = t.loan_id AND i.seq = t.seq""")
    day, program_of = run.business_date, {ln.id: ln.program_id for ln in loans.values()}
    copy_rows("lending_movement", (
        "business_date", "run_id", "loan_id", "program_id", "funder_id", "event", "component",
        "amount", "installment_seq", "txn_id", "reversal", "accruing"), (
        (day, run.pk, m[0], program_of[m[0]], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
        for m in movements))
    if raised:
        copy_rows("lending_claim", ("loan_id", "guarantor_id", "raised_on", "principal",
                                    "interest", "penalty", "amount", "status", "paid_amount"),
                  ((lid, g, day, p, i, pen, amt, "RAISED", zero)
                   for lid, g, p, i, pen, amt in raised))
    if paid_claims:  # one statement for the chunk (a loan's day gives at most one entry)
        lids, guarantors, amounts = (list(c) for c in zip(*paid_claims, strict=True))
        _exec("""INSERT INTO lending_claim (loan_id, guarantor_id, raised_on, principal,
                        interest, penalty, amount, status, paid_on, paid_amount)
                 SELECT x.loan_id, x.guarantor_id, %(d)s, 0, 0, 0, 0, 'PAID', %(d)s, x.amount
                   FROM unnest(%(l)s::bigint[], %(g)s::bigint[], %(a)s::numeric[])
                        AS x(loan_id, guarantor_id, amount)
                 ON CONFLICT (loan_id) DO UPDATE SET
                        paid_amount = lending_claim.paid_amount + EXCLUDED.paid_amount,
                        status = CASE WHEN lending_claim.paid_amount + EXCLUDED.paid_amount > 0
                                      THEN 'PAID' ELSE 'RAISED' END,
                        -- the day of the last payment; a reversal keeps it, or clears it
                        -- when nothing stays paid
                        paid_on = CASE
                            WHEN lending_claim.paid_amount + EXCLUDED.paid_amount <= 0 THEN NULL
                            WHEN EXCLUDED.paid_amount > 0 THEN EXCLUDED.paid_on
                            ELSE lending_claim.paid_on END""",
              {"d": day, "l": lids, "g": guarantors, "a": amounts})


def _mark_staged(run: SettlementRun, rows: dict, applied_r: list[int], applied_v: list[int],
                 rejects: list[tuple]) -> None:
    if applied_r:
        _exec("UPDATE lending_stagedrepayment SET status = 'APPLIED', applied_at = now()"
              " WHERE id = ANY(%s)", [applied_r])
    if applied_v:
        _exec("UPDATE lending_stagedreversal SET status = 'APPLIED', applied_at = now()"
              " WHERE id = ANY(%s)", [applied_v])
    if not rejects:
        return
    _quarantine(run.partner_id, run.business_date, [
        (rows[txn][1], rows[txn][2], col, code, msg, rows[txn][3], rows[txn][4])
        for txn, code, col, msg in rejects
    ])
    for kind, table in (("R", "lending_stagedrepayment"), ("V", "lending_stagedreversal")):
        ids = [txn for txn, *_ in rejects if rows[txn][0] == kind]
        if ids:
            _exec(f"UPDATE {table} SET status = 'QUARANTINED', applied_at = now()"
                  " WHERE id = ANY(%s)", [ids])


@transaction.atomic
def quarantine_leftovers(*, run_id: int) -> int:
    """Staged rows the chunks could not reach (their loan is not booked) are quarantined."""
    run = SettlementRun.objects.get(pk=run_id)
    p, d = run.partner_id, run.business_date
    left = _fetch(
        """SELECT r.id, r.file_id, r.row_no, r.txn_no, r.loan_no, r.amount, 'R'
             FROM lending_stagedrepayment r
            WHERE r.partner_id = %s AND r.business_date = %s AND r.status = 'STAGED'
           UNION ALL
           SELECT v.id, v.file_id, v.row_no, v.txn_no, v.reverses_txn_no, v.amount, 'V'
             FROM lending_stagedreversal v
            WHERE v.partner_id = %s AND v.business_date = %s AND v.status = 'STAGED'""",
        [p, d, p, d])
    if not left:
        return 0
    _quarantine(p, d, [
        (f, n, "loan_no" if k == "R" else "reverses_txn_no",
         "UNKNOWN_LOAN" if k == "R" else "NOT_REVERSIBLE",
         "the loan was not booked (its loans row was quarantined)" if k == "R"
         else "the reversed repayment was not applied",
         _raw((txn, ref, amt)), amt)
        for _id, f, n, txn, ref, amt, k in left])
    for k, table in (("R", "lending_stagedrepayment"), ("V", "lending_stagedreversal")):
        ids = [row[0] for row in left if row[6] == k]
        if ids:
            _exec(f"UPDATE {table} SET status = 'QUARANTINED', applied_at = now()"
                  " WHERE id = ANY(%s)", [ids])
    return len(left)
