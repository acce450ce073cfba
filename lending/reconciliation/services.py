"""Reconciliation writes: compare a partner's balances file with our positions; breaks.

`breaks_reconcile` is set-based: one statement builds the day's differences (the partner's
staged balances FULL OUTER JOIN our loans with their positions), a handful of statements apply
them to the break table, and one `Reconciliation` record per file says that its rows are applied
(rewriting the status of a million staged rows cost 11 s a day at a million loans). No per-loan
ORM call. Our side per loan is the loan's balances plus what accrued (lending_loan_accruals, the
arithmetic of lending_share_positions without the per-share split a loan total does not need).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from config import locks
from config.sql_literals import lit
from ledger.domain import chart
from lending.domain import loan_day as domain_loan_day
from lending.intake.models import StagedRowStatus
from lending.reconciliation import rounding
from lending.reconciliation.models import Break, BreakField, BreakKind, BreakStatus
from partners.models import FileKind, InboundFile, InboundFileStatus

log = logging.getLogger(__name__)

# A per-field, per-loan amount difference up to this (inclusive) is rounding (e.g. a 1-fen gap
# on an odd split, DOMAIN §4.3): recorded as AUTO_CLEARED, never left open, and held in the
# partner's rounding account (lending.reconciliation.rounding). The default of a program
# without its own ReconciliationTolerance.
AMOUNT_TOLERANCE = Decimal("0.01")

# Loans in these states are closed: absent from the partner's file is what we expect.
CLOSED_STATES = tuple(str(s) for s in domain_loan_day.CLOSED_STATES)


class ReconciliationError(Exception):
    """Base of the reconciliation errors (the API layer answers them with a 4xx)."""


@dataclass
class ReconcileResult:
    partner_id: int
    business_date: date
    file_id: int | None = None  # None: no accepted balances file for the date, nothing done
    their_rows: int = 0
    our_loans: int = 0
    # Differences beyond the tolerance found on the date, per kind (AMOUNT_MISMATCH counts one
    # per field).
    by_kind: dict[str, int] = field(default_factory=dict)
    within_tolerance: int = 0
    rounding_entries: int = 0  # rounding entries posted (one per program with a delta)
    opened: int = 0
    seen_again: int = 0
    auto_cleared: int = 0
    applied_rows: int = 0
    ms: int = 0

    @property
    def differences(self) -> int:
        return sum(self.by_kind.values())


# The day's differences. `t` is the partner's view, `o` ours (the loan's position as of the date,
# = Σ over its shares of lending_share_positions; penalty = penalty + compound), FULL OUTER JOIN
# on loan_no. Our side is the loans booked by the date; rows of the file quarantined at apply
# time are not theirs.
_DIFF_SQL = f"""
CREATE TEMP TABLE recon_diff ON COMMIT DROP AS
WITH t AS (
    SELECT b.loan_no, b.principal_outstanding AS principal, b.interest_outstanding AS interest,
           b.penalty_outstanding AS penalty, b.dpd, b.loan_status AS status
      FROM lending_stagedbalance b
     WHERE b.partner_id = %(partner)s AND b.business_date = %(bdate)s
       AND b.status <> {lit(StagedRowStatus.QUARANTINED)}
), o AS (
    -- our view: the loan's balances (Σ of its shares, lending.settlement.checks) plus what
    -- accrued since the anchors, per loan — no per-share split is needed for a loan's total
    SELECT a.id AS loan_id, a.program_id, a.loan_no, a.state AS status, a.dpd,
           a.principal_outstanding AS principal, a.interest_outstanding + a.acc AS interest,
           a.penalty_outstanding + a.compound_outstanding + a.pen + a.cmp AS penalty
      FROM lending_loan_accruals(%(bdate)s, %(partner)s) a
     WHERE a.booked_on <= %(bdate)s
), j AS (
    SELECT coalesce(t.loan_no, o.loan_no) AS loan_no, o.loan_id, o.program_id,
           t.loan_no IS NOT NULL AS in_theirs, o.loan_no IS NOT NULL AS in_ours,
           o.status AS o_status, t.status AS t_status, o.dpd AS o_dpd, t.dpd AS t_dpd,
           o.principal AS o_p, t.principal AS t_p, o.interest AS o_i, t.interest AS t_i,
           o.penalty AS o_n, t.penalty AS t_n
      FROM t FULL OUTER JOIN o ON o.loan_no = t.loan_no
     -- keep only loans with some difference before fanning out per kind (most loans agree)
     WHERE t.loan_no IS NULL AND o.status <> ALL(%(closed)s)
        OR o.loan_no IS NULL
        OR t.principal <> o.principal OR t.interest <> o.interest OR t.penalty <> o.penalty
        OR t.status <> o.status OR t.dpd <> o.dpd
)
SELECT j.loan_no, j.loan_id, j.program_id, d.kind, d.field, d.ours, d.theirs, d.difference,
       coalesce(rt.amount_tolerance, %(tol)s) AS tol,
       d.kind = {lit(BreakKind.AMOUNT_MISMATCH)}
       AND abs(d.difference) <= coalesce(rt.amount_tolerance, %(tol)s) AS within
  FROM j
  LEFT JOIN lending_reconciliationtolerance rt ON rt.program_id = j.program_id
 CROSS JOIN LATERAL (VALUES
    ({lit(BreakKind.MISSING_AT_BANK)}, '', '', j.t_p::text, j.t_p,
     j.in_theirs AND NOT j.in_ours),
    ({lit(BreakKind.MISSING_AT_PARTNER)}, '', j.o_p::text, '', -j.o_p,
     j.in_ours AND NOT j.in_theirs AND j.o_status <> ALL(%(closed)s)),
    ({lit(BreakKind.AMOUNT_MISMATCH)}, {lit(BreakField.PRINCIPAL)}, j.o_p::text, j.t_p::text, j.t_p - j.o_p,
     j.in_ours AND j.in_theirs AND j.t_p <> j.o_p),
    ({lit(BreakKind.AMOUNT_MISMATCH)}, {lit(BreakField.INTEREST)}, j.o_i::text, j.t_i::text, j.t_i - j.o_i,
     j.in_ours AND j.in_theirs AND j.t_i <> j.o_i),
    ({lit(BreakKind.AMOUNT_MISMATCH)}, {lit(BreakField.PENALTY)}, j.o_n::text, j.t_n::text, j.t_n - j.o_n,
     j.in_ours AND j.in_theirs AND j.t_n <> j.o_n),
    ({lit(BreakKind.STATUS_MISMATCH)}, '', j.o_status::text, j.t_status::text, NULL::numeric,
     j.in_ours AND j.in_theirs AND j.t_status <> j.o_status),
    ({lit(BreakKind.DPD_MISMATCH)}, '', j.o_dpd::text, j.t_dpd::text, (j.t_dpd - j.o_dpd)::numeric,
     j.in_ours AND j.in_theirs AND j.t_dpd <> j.o_dpd)
 ) AS d(kind, field, ours, theirs, difference, differs)
 WHERE d.differs
"""

# Open breaks seen again beyond the tolerance: later sightings move last_seen and the figures.
_SEEN_AGAIN_SQL = f"""
UPDATE lending_break b
   SET last_seen_on = %(bdate)s, ours = d.ours, theirs = d.theirs, difference = d.difference,
       loan_id = coalesce(d.loan_id, b.loan_id)
  FROM recon_diff d
 WHERE b.partner_id = %(partner)s AND b.status = {lit(BreakStatus.OPEN)} AND NOT d.within
   AND b.loan_no = d.loan_no AND b.kind = d.kind AND b.field = d.field
   AND b.business_date <= %(bdate)s AND b.last_seen_on < %(bdate)s
"""

# Open breaks no longer differing beyond the tolerance on the date (not those seen after it,
# so that rerunning an older date cannot clear a newer sighting).
_CLEAR_SQL = f"""
UPDATE lending_break b
   SET status = {lit(BreakStatus.AUTO_CLEARED)}, resolved_at = %(now)s,
       resolution_note = 'no longer differs (beyond the program''s tolerance) on '
                         || %(bdate)s::text
 WHERE b.partner_id = %(partner)s AND b.status = {lit(BreakStatus.OPEN)} AND b.last_seen_on <= %(bdate)s
   AND NOT EXISTS (SELECT 1 FROM recon_diff d
                    WHERE d.loan_no = b.loan_no AND d.kind = b.kind AND d.field = b.field
                      AND NOT d.within)
"""

# New differences: no break of the same loan, kind and field covers the date (an open one was
# updated above; one first seen by the date and seen up to it is this same sighting). Within
# the program's tolerance they are recorded AUTO_CLEARED at once, linked to the rounding entry
# that holds them (`r`: program → entry, lending.reconciliation.rounding).
_OPEN_SQL = f"""
INSERT INTO lending_break
       (partner_id, business_date, last_seen_on, loan_no, loan_id, kind, field, ours, theirs,
        difference, status, resolution_note, resolved_at, rounding_entry_id, created_at)
SELECT %(partner)s, %(bdate)s, %(bdate)s, d.loan_no, d.loan_id, d.kind, d.field, d.ours,
       d.theirs, d.difference,
       CASE WHEN d.within THEN {lit(BreakStatus.AUTO_CLEARED)} ELSE {lit(BreakStatus.OPEN)} END,
       CASE WHEN NOT d.within THEN ''
            WHEN r.entry_id IS NULL THEN 'within tolerance ' || d.tol
            ELSE 'within tolerance ' || d.tol || ': cleared into rounding ' || %(rounding)s
                 || ' of ' || %(book)s || ' (entry #' || r.entry_id || ')' END,
       CASE WHEN d.within THEN %(now)s END,
       CASE WHEN d.within THEN r.entry_id END, %(now)s
  FROM recon_diff d
  LEFT JOIN unnest(%(r_programs)s::bigint[], %(r_entries)s::bigint[]) AS r(program_id, entry_id)
    ON r.program_id = d.program_id
 WHERE NOT EXISTS (SELECT 1 FROM lending_break b
                    WHERE b.partner_id = %(partner)s AND b.loan_no = d.loan_no
                      AND b.kind = d.kind AND b.field = d.field
                      AND (b.status = {lit(BreakStatus.OPEN)}
                           OR (b.business_date <= %(bdate)s AND b.last_seen_on >= %(bdate)s)))
 ORDER BY d.loan_no, d.kind, d.field
ON CONFLICT DO NOTHING
"""

_COUNTS_SQL = """
SELECT kind, count(*) FILTER (WHERE NOT within), count(*) FILTER (WHERE within)
  FROM recon_diff GROUP BY kind
"""


def _step(cur, name: str, statement: str, params: dict) -> int:
    started = time.monotonic()
    cur.execute(statement, params)
    log.info("reconcile step=%s rows=%d ms=%d", name, cur.rowcount,
             (time.monotonic() - started) * 1000)
    return cur.rowcount


def breaks_reconcile(*, partner_id: int, business_date: date) -> ReconcileResult:
    """Reconcile the partner's balances file of the date against our positions; breaks.

    Idempotent: rerunning a date finds the same differences and changes nothing. Without an
    accepted balances file for the date nothing is compared (result.file_id is None).
    """
    started = time.monotonic()
    result = ReconcileResult(partner_id=partner_id, business_date=business_date)
    inbound = InboundFile.objects.filter(
        partner_id=partner_id, kind=FileKind.BALANCES, business_date=business_date,
        status=InboundFileStatus.ACCEPTED,
    ).select_related("partner").order_by("pk").first()
    if inbound is None:
        return result
    result.file_id = inbound.pk
    partner_code = inbound.partner.code
    params = {"partner": partner_id, "bdate": business_date, "tol": AMOUNT_TOLERANCE,
              "closed": list(CLOSED_STATES), "now": timezone.now()}
    with transaction.atomic(), connection.cursor() as cur:
        # One reconcile per partner at a time (a run and a staff rerun must not interleave).
        locks.xact(locks.RECONCILE, partner_id)
        # Big hash aggregates and joins: memory instead of spilling batches to disk; a plan of
        # seconds gains nothing from JIT compilation; the break table's statistics may lag
        # far behind (a first reconcile of a million loans), so no nested loops over it.
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL jit = off")
        # ON COMMIT DROP does not fire when a caller's transaction encloses this one
        cur.execute("DROP TABLE IF EXISTS recon_diff")
        _step(cur, "diff", _DIFF_SQL, params)
        cur.execute("ANALYZE recon_diff")
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(_COUNTS_SQL)
        for kind, beyond, within in cur.fetchall():
            if beyond:
                result.by_kind[kind] = beyond
            result.within_tolerance += within
        result.seen_again = _step(cur, "seen_again", _SEEN_AGAIN_SQL, params)
        result.auto_cleared = _step(cur, "clear", _CLEAR_SQL, params)
        held = rounding.rounding_post(cur, partner_code=partner_code,
                                      business_date=business_date)
        result.rounding_entries = held.entries
        entries = sorted((held.entry_of_program or {}).items())
        params.update(r_programs=[p for p, _ in entries], r_entries=[e for _, e in entries],
                      rounding=chart.ROUNDING, book=chart.memo_book_code(partner_code))
        # New sightings: one probe per difference into the break history's unique index
        # (partner, loan, kind, field, first seen) — a hash anti join would read the whole
        # history, which grows by every day's breaks.
        # No sequential scan for the probe either: on a new or never-analysed break table
        # (planned as empty) the planner scans the heap per difference, and the heap grows by
        # this very insert — quadratic (a first Monday of 170,000 differences ran for over 20
        # minutes); the index probe is what the statement is written for.
        cur.execute("SET LOCAL enable_nestloop = on; SET LOCAL enable_hashjoin = off;"
                    " SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off")
        result.opened = _step(cur, "open", _OPEN_SQL, params)
        cur.execute("SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = on;"
                    " SET LOCAL enable_mergejoin = on; SET LOCAL enable_seqscan = on")
        cur.execute(
            f"SELECT count(*) FILTER (WHERE status <> {lit(StagedRowStatus.QUARANTINED)}) FROM lending_stagedbalance"
            " WHERE partner_id = %(partner)s AND business_date = %(bdate)s", params)
        result.their_rows = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM lending_loan WHERE partner_id = %(partner)s"
                    " AND booked_on <= %(bdate)s", params)
        result.our_loans = cur.fetchone()[0]
        # The file's rows are applied by this reconciliation: one record per file says so (rows
        # = applied + quarantined), not a rewrite of every staged row's status. A rerun keeps the
        # latest figures; its break counts add up.
        cur.execute(
            """INSERT INTO lending_reconciliation (file_id, partner_id, business_date,
                      their_rows, our_loans, differences, within_tolerance, opened, seen_again,
                      auto_cleared, reconciled_at)
               VALUES (%(file)s, %(partner)s, %(bdate)s, %(their)s, %(ours)s, %(diff)s,
                       %(within)s, %(opened)s, %(seen)s, %(cleared)s, %(now)s)
               ON CONFLICT (file_id) DO UPDATE SET
                      their_rows = EXCLUDED.their_rows, our_loans = EXCLUDED.our_loans,
                      differences = EXCLUDED.differences,
                      within_tolerance = EXCLUDED.within_tolerance,
                      opened = lending_reconciliation.opened + EXCLUDED.opened,
                      seen_again = lending_reconciliation.seen_again + EXCLUDED.seen_again,
                      auto_cleared = lending_reconciliation.auto_cleared
                                     + EXCLUDED.auto_cleared,
                      reconciled_at = EXCLUDED.reconciled_at
               RETURNING xmax = 0""",
            {**params, "file": inbound.pk, "their": result.their_rows,
             "ours": result.our_loans, "diff": Jsonb(result.by_kind),
             "within": result.within_tolerance, "opened": result.opened,
             "seen": result.seen_again, "cleared": result.auto_cleared})
        created = cur.fetchone()[0]
        result.applied_rows = result.their_rows if created else 0  # applied by this call
    result.ms = int((time.monotonic() - started) * 1000)
    log.info("reconcile partner=%s date=%s differences=%s ms=%d", partner_id, business_date,
             result.by_kind, result.ms)
    return result


def breaks_assign(*, breaks, owner) -> int:
    """Make `owner` the owner of the given open breaks; returns how many were assigned."""
    ids = [b.pk for b in breaks]
    with transaction.atomic():
        return Break.objects.filter(pk__in=ids, status=BreakStatus.OPEN).update(owner=owner)


def breaks_resolve(*, breaks, note: str, by, status: str = BreakStatus.RESOLVED) -> int:
    """Close open breaks with a note (RESOLVED or WRITTEN_OFF); a break is never deleted."""
    if status not in (BreakStatus.RESOLVED, BreakStatus.WRITTEN_OFF):
        raise ReconciliationError(f"a break is resolved as RESOLVED or WRITTEN_OFF, not {status}")
    if not note.strip():
        raise ReconciliationError("a resolution needs a note")
    ids = [b.pk for b in breaks]
    with transaction.atomic():
        return Break.objects.filter(pk__in=ids, status=BreakStatus.OPEN).update(
            status=status, resolution_note=note.strip(), resolved_by=by,
            resolved_at=timezone.now(),
        )


__all__ = ["AMOUNT_TOLERANCE", "BreakKind", "ReconcileResult", "ReconciliationError",
           "breaks_assign", "breaks_reconcile", "breaks_resolve"]
