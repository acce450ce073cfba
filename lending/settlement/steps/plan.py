"""The chunk plans of the book and apply steps: balanced key ranges, recorded as `RunChunk`s
(idempotent: a rerun finds them)."""

from __future__ import annotations

from django.db import connection, transaction

from config.sql_literals import lit
from controls import db_roles
from lending.intake.models import StagedRowStatus
from lending.settlement.models import RunChunk, SettlementRun
from lending.settlement.steps.common import (
    _exec,
    _fetch,
)

# Loans per apply chunk. A chunk holds the touched loans of its range in memory (a few KB each
# with their schedule) and runs in one transaction: 50,000 keeps a chunk to a few seconds and
# well under 100 MB, and gives several chunks per worker at a million loans.
APPLY_CHUNK_LOANS = 50_000

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


def _analyze(*tables: str) -> None:
    """Fresh statistics of the day's staging tables, taken as their owner: the application role
    owns none, and its own ANALYZE would be skipped with a warning (controls migration 0008)."""
    with connection.cursor() as cur:
        db_roles.analyze(cur, *tables)


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
    _analyze("lending_stagedloan")  # the day's file, staged since the last statistics
    return _plan_chunks(run, "BOOK", table="lending_stagedloan", key="row_no",
                        where=f"partner_id = %s AND business_date = %s AND status = {lit(StagedRowStatus.STAGED)}",
                        params=[run.partner_id, run.business_date],
                        per_chunk=chunk_loans or BOOK_CHUNK_LOANS)


_EVENTS = f"""
INSERT INTO lending_runevent (run_id, loan_id, kind, staged_id)
SELECT %(run)s, l.id, 'R', r.id
  FROM lending_stagedrepayment r
  JOIN lending_loan l ON l.partner_id = r.partner_id AND l.loan_no = r.loan_no
 WHERE r.partner_id = %(p)s AND r.business_date = %(d)s AND r.status = {lit(StagedRowStatus.STAGED)}
UNION ALL
SELECT %(run)s, l.id, 'V', v.id
  FROM lending_stagedreversal v
  JOIN lending_stagedrepayment r ON r.partner_id = v.partner_id AND r.txn_no = v.reverses_txn_no
  JOIN lending_loan l ON l.partner_id = r.partner_id AND l.loan_no = r.loan_no
 WHERE v.partner_id = %(p)s AND v.business_date = %(d)s AND v.status = {lit(StagedRowStatus.STAGED)}
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
    _analyze("lending_runevent", "lending_stagedrepayment", "lending_stagedreversal")
    return _plan_chunks(run, "APPLY", table="lending_loan", key="id", where="partner_id = %s",
                        params=[run.partner_id], per_chunk=chunk_loans or APPLY_CHUNK_LOANS,
                        sample=SAMPLE_PERCENT)
