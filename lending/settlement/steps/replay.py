"""A reversal that rebuilds its loan (DOMAIN §8.3): the loan's state kept at the start of each
business day a repayment of it was applied (lending_loansnapshot), and, for a reversal of a
repayment of an earlier day, the history `lending.domain.loan_day` replays without it.

Set-based: one COPY for the chunk's snapshots, four queries for the chunk's replays (their
snapshots, the partner's business days, the loans' applied repayments and their movements
since), never one per loan.

A reversal is restored in place instead (`loan_reversal`) when the loan's history since holds
what a replay does not redo the same way: a write-off (核销) ordered by staff, or no snapshot (a
repayment applied before snapshots were kept, or older than LOAN_SNAPSHOT_DAYS). A write-off at
the program's DPD is replayed, on the day the rebuilt loan reaches it, and so is the accrual
switch (R16) at each day's end; so is a claim (代偿): raised before the repayment's day it stands
as raised, raised since it is raised again on its day as replayed (the claim's row takes that
day and amount), and the guarantor's payments of it since are replayed (its paid amount moves
by what they pay as replayed against as recorded). A guarantor's claim payment reversed is
replayed the same way: the claim's paid amount goes back by what it paid, and the borrower's
payments since, recoveries on the share it bought, are the bank's collections again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from lending.copyio import copy_rows
from lending.domain.loan_day import OPEN_STATES, Event, LoanState, LoanStatus, Replay
from lending.domain.loan_snapshot import dump_loan, load_loan
from lending.intake.models import StagedRowStatus
from lending.settlement.models import MovementEvent, SettlementRun
from lending.settlement.steps.common import _exec, _fetch, _lit


def _replayable(loan: LoanState, d0: date) -> bool:
    """Whether the loan's state lets a replay from `d0` rebuild it: open (claimed included) or
    paid off, or written off (at the program's DPD) on or after `d0`: the replay writes it off
    again, on that day or an earlier one (a recovery's reversal restores it in place)."""
    return loan.state in (*OPEN_STATES, LoanStatus.PAID_OFF) or (
        loan.state == LoanStatus.WRITTEN_OFF and loan.written_off_on is not None
        and loan.written_off_on >= d0)


def keep_snapshots(day: date, snapshots: list[tuple[int, dict]]) -> None:
    """Keep each loan's state as loaded for `day` (before its repayments were applied)."""
    if snapshots:
        copy_rows("lending_loansnapshot", ("loan_id", "business_date", "state"),
                  ((lid, day, json.dumps(state, separators=(",", ":")))
                   for lid, state in snapshots))


def snapshots_purge(*, before: date) -> int:
    """Delete the snapshots of business days before `before` (the retention, LOAN_SNAPSHOT_DAYS):
    a reversal of a repayment that old is restored in place. One statement (BRIN index)."""
    return _exec("DELETE FROM lending_loansnapshot WHERE business_date < %s", [before])


def snapshot_of(loan: LoanState, events: list[Event]) -> dict | None:
    """The loan's state to keep today, taken before the day runs: when a repayment of it is
    applied today (only a repayment can be reversed)."""
    if any(e.kind != "REVERSAL" for e in events):
        return dump_loan(loan)
    return None


def attach_replays(run: SettlementRun, loans: dict[int, LoanState],
                   events: dict[int, list[Event]], applied_day: dict[int, date]) -> None:
    """Give each reversal that can rebuild its loan its Replay (Event.replay)."""
    today = run.business_date
    wanted: dict[int, Event] = {}
    start: dict[int, date] = {}  # where each loan's replay starts
    for lid, evs in events.items():
        revs = [e for e in evs if e.kind == "REVERSAL"]
        loan = loans.get(lid)
        if len(revs) != 1 or loan is None or revs[0].original_txn_id is None:
            continue
        d0 = applied_day.get(revs[0].original_txn_id)
        if (d0 is None or d0 >= today or not _replayable(loan, d0)
                or loan.write_off_ordered):
            continue
        wanted[lid], start[lid] = revs[0], d0
    if not wanted:
        return
    ids = sorted(wanted)
    reversed_since = _reversed_since(run, ids, start)
    first = min(start.values())
    snaps = {lid: load_loan(json.loads(state) if isinstance(state, str) else state)
             for lid, state in _fetch(  # (Django's connection reads jsonb as its text)
        """SELECT s.loan_id, s.state FROM lending_loansnapshot s
             JOIN unnest(%s::bigint[], %s::date[]) AS w(loan_id, d) ON w.loan_id = s.loan_id
                                                                 AND w.d = s.business_date""",
        [ids, [start[lid] for lid in ids]])}
    days = [r[0] for r in _fetch(
        """SELECT business_date FROM lending_settlementrun
            WHERE partner_id = %s AND business_date >= %s AND business_date < %s
            ORDER BY business_date""", [run.partner_id, first, today])]
    window: dict[int, list[tuple]] = defaultdict(list)
    for m in _fetch(  # the loan days' movements (the disbursement is the book step's)
        f"""SELECT loan_id, funder_id, event, component, amount, installment_seq, txn_id,
                  reversal, accruing, business_date
             FROM lending_movement WHERE loan_id = ANY(%s) AND business_date >= %s
              AND event <> {_lit(MovementEvent.DISBURSE)}
            ORDER BY id""", [ids, first]):
        if m[9] >= start[m[0]]:
            window[m[0]].append(m[:9])
    history: dict[int, dict[date, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for (on, rid, lid, kind, amount, payer, paid_on) in _fetch(
        f"""SELECT s.business_date, r.id, e.loan_id, r.kind, r.amount, r.payer, r.paid_on
             FROM lending_runevent e
             JOIN lending_settlementrun s ON s.id = e.run_id
             JOIN lending_stagedrepayment r ON r.id = e.staged_id
            WHERE e.kind = 'R' AND e.loan_id = ANY(%s) AND s.partner_id = %s
              AND s.business_date >= %s AND s.business_date < %s
              AND r.status = {_lit(StagedRowStatus.APPLIED)}
            ORDER BY s.business_date, r.row_no, r.id""", [ids, run.partner_id, first, today]):
        if on >= start[lid] and rid not in reversed_since[lid]:
            history[lid][on].append(Event(rid, kind, amount, payer, value_on=paid_on))
    for lid, marks in reversed_since.items():
        for (on, vid, amount, kind) in marks.values():
            # after the day's repayments, as any reversal (its value date is its day)
            history[lid][on].append(Event(vid, "REVERSAL", amount, original_kind=kind,
                                          rounding_only=True))
    for lid, ev in wanted.items():
        if lid not in snaps:  # a repayment applied before snapshots were kept
            continue
        ev.replay = Replay(snaps[lid], tuple(d for d in days if d >= start[lid]),
                           dict(history.get(lid, {})), tuple(window.get(lid, [])))


def _reversed_since(run: SettlementRun, ids: list[int], start: dict[int, date]
                    ) -> dict[int, dict[int, tuple]]:
    """The repayments of each loan reversed (applied reversals) on or after its replay's first
    day: {loan: {repayment id: (reversal day, reversal id, amount, repayment kind)}}. The
    replay leaves them out, so it starts where the earliest of them was applied (`start`
    moves back to it, and again for what was reversed since that day)."""
    out: dict[int, dict[int, tuple]] = defaultdict(dict)
    seen: set[int] = set()
    while True:
        rows = [r for r in _fetch(
            f"""SELECT e.loan_id, s.business_date, v.id, v.amount, r.id, r.kind,
                       (SELECT min(m.business_date) FROM lending_movement m
                         WHERE m.txn_id = r.id AND NOT m.reversal)
                  FROM lending_runevent e
                  JOIN lending_settlementrun s ON s.id = e.run_id
                  JOIN lending_stagedreversal v ON v.id = e.staged_id
                  JOIN lending_stagedrepayment r ON r.partner_id = v.partner_id
                                                AND r.txn_no = v.reverses_txn_no
                 WHERE e.kind = 'V' AND e.loan_id = ANY(%s) AND s.partner_id = %s
                   AND s.business_date >= %s AND s.business_date < %s
                   AND v.status = {_lit(StagedRowStatus.APPLIED)}""",
            [ids, run.partner_id, min(start.values()), run.business_date])
            if r[2] not in seen and r[1] >= start[r[0]]]
        if not rows:
            return out
        for lid, on, vid, amount, rid, kind, applied in rows:
            seen.add(vid)
            out[lid][rid] = (on, vid, amount, kind)
            if applied is not None and applied < start[lid]:
                start[lid] = applied
