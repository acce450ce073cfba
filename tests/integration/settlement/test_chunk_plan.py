"""Apply chunks cut from a page sample (steps.plan._plan_chunks): every row of the partner in
exactly one chunk whatever the sample saw, chunks of about the asked size, the exact cut for small
partners."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, transaction

from lending.models import Loan
from lending.settlement import steps
from lending.settlement.models import RunChunk, RunState, SettlementRun
from tests.factories import lending as f
from tests.functional.settlement.test_real_workers import (
    D0,
    D1,
    _deliver,
    _settle,
    _setup_portfolio,
)

pytestmark = pytest.mark.django_db

ROWS = 200_000  # ids 1..ROWS; partner 1 holds two thirds of them, interleaved with partner 2


@pytest.fixture
def ids_table():
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE plan_ids AS SELECT g::bigint AS id, "
                    "CASE WHEN g %% 3 = 0 THEN 2 ELSE 1 END AS partner_id "
                    "FROM generate_series(1, %s) g", [ROWS])
    yield "plan_ids"
    with connection.cursor() as cur:
        cur.execute("DROP TABLE plan_ids")


def _plan(table: str, **kw) -> list[tuple[int, int]]:
    run = SettlementRun.objects.create(partner=f.partner("PLAN"), business_date=date(2026, 1, 5))
    n = steps.plan._plan_chunks(run, "APPLY", table=table, key="id", where="partner_id = %s",
                                params=[1], per_chunk=10_000, **kw)
    ranges = list(RunChunk.objects.filter(run=run, step="APPLY").order_by("seq")
                  .values_list("lo_id", "hi_id"))
    assert len(ranges) == n
    return ranges


def _rows_per_chunk(table: str, ranges: list[tuple[int, int]]) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM {table} WHERE partner_id = 1")
        ids = [r[0] for r in cur.fetchall()]
    counts = [0] * len(ranges)
    for i in ids:
        inside = [k for k, (lo, hi) in enumerate(ranges) if lo <= i <= hi]
        assert len(inside) == 1, f"id {i} in chunks {inside}"
        counts[inside[0]] += 1
    return counts


def test_sampled_cut_covers_every_row_once_in_chunks_of_about_the_size(ids_table):
    ranges = _plan(ids_table, sample=20.0, sample_min_rows=100)
    # contiguous from the partner's first id to its last: rows the sample missed still fall in
    # a chunk (200,000 % 3 = 2: partner 1)
    assert ranges[0][0] == 1 and ranges[-1][1] == ROWS
    assert all(hi + 1 == lo for (_, hi), (lo, _) in zip(ranges, ranges[1:], strict=False))
    counts = _rows_per_chunk(ids_table, ranges)
    total = ROWS - ROWS // 3
    assert sum(counts) == total
    assert abs(len(ranges) - total / 10_000) <= 2  # 13 or 14 chunks of ~10,000
    assert min(counts) > 5_000 and max(counts) < 15_000, counts


def test_small_sample_falls_back_to_the_exact_cut(ids_table):
    ranges = _plan(ids_table, sample=20.0, sample_min_rows=10**9)
    counts = _rows_per_chunk(ids_table, ranges)
    assert len(ranges) == 14 and max(counts) - min(counts) <= 1  # ntile: exact balance
    # the exact cut's ranges are the min and max id of each group
    assert ranges[0][0] == 1 and ranges[-1][1] == ROWS  # 200,000 % 3 = 2: partner 1


# --- The day's outcome does not depend on the cut ------------------------------------------


def _outcome() -> tuple:
    """Everything the days left behind, without ids: postings (the fingerprint's lines but for
    their drill-down source, which names the run's and the program's ids), loans, shares,
    movements, breaks."""
    with connection.cursor() as cur:
        cur.execute("""SELECT e.business_date, e.idempotency_key, b.code, e.purpose, a.code,
                              l.program, l.counterparty, l.debit, l.credit, l.currency
                         FROM ledger_journalentry e
                         JOIN ledger_journalline l ON l.entry_id = e.id
                         JOIN ledger_book b ON b.id = e.book_id
                         JOIN ledger_account a ON a.id = l.account_id
                        WHERE e.source_run LIKE 'settle:%%:ALPHA'
                        ORDER BY 1, 2, 5, 6, 7, 8, 9""")
        postings = cur.fetchall()
        cur.execute("""SELECT l.loan_no, l.state, l.dpd, l.risk_class, l.accruing,
                              l.principal_outstanding, l.interest_outstanding,
                              l.penalty_outstanding, l.overpaid_amount, l.billed_seq,
                              p.code, s.principal_outstanding, s.interest_outstanding,
                              s.penalty_outstanding, s.compound_outstanding
                         FROM lending_loan l JOIN lending_loanshare s ON s.loan_id = l.id
                         JOIN partners_partner p ON p.id = s.funder_id ORDER BY 1, 11""")
        book = cur.fetchall()
        cur.execute("""SELECT l.loan_no, m.business_date, m.event, m.component, p.code,
                              m.amount, m.installment_seq, m.reversal
                         FROM lending_movement m JOIN lending_loan l ON l.id = m.loan_id
                         JOIN partners_partner p ON p.id = m.funder_id
                        ORDER BY 1, 2, 3, 4, 5, 6""")
        movements = cur.fetchall()
        cur.execute("SELECT loan_no, kind, field, ours, theirs FROM lending_break ORDER BY 1, 2, 3")
        breaks = cur.fetchall()
    return postings, book, movements, breaks


def _two_days(monkeypatch, *, per_chunk: int, sampled: bool) -> tuple:
    monkeypatch.setattr(steps.plan, "APPLY_CHUNK_LOANS", per_chunk)
    if sampled:  # the sampled cut on a small portfolio: every page, no fallback
        monkeypatch.setattr(steps.plan, "SAMPLE_PERCENT", 100.0)
        monkeypatch.setattr(steps.plan, "SAMPLE_MIN_ROWS", 1)
    with transaction.atomic():
        _setup_portfolio()
        cuts = []
        for day in (D0, D1):
            _deliver(day)
            run = _settle(day)
            assert run.state == RunState.DONE, (run.error, run.totals.get("check_problems"))
            cuts.append(list(RunChunk.objects.filter(run=run, step="APPLY").order_by("seq")
                             .values_list("lo_id", "hi_id")))
        outcome = _outcome()
        ids = list(Loan.objects.order_by("id").values_list("id", flat=True))
        transaction.set_rollback(True)
    return cuts, outcome, (ids[0], ids[-1])


def test_the_days_come_out_the_same_whatever_the_cut(monkeypatch):
    one_cuts, one, _ = _two_days(monkeypatch, per_chunk=10_000, sampled=False)
    exact_cuts, exact, _ = _two_days(monkeypatch, per_chunk=40, sampled=False)
    sampled_cuts, sampled, (first, last) = _two_days(monkeypatch, per_chunk=70, sampled=True)
    assert len(one_cuts[1]) == 1 and len(exact_cuts[1]) == 6 and len(sampled_cuts[1]) == 3
    assert sampled_cuts[1][0][0] == first and sampled_cuts[1][-1][1] == last
    assert all(one), "the scenario posts, books loans, moves money and finds breaks"
    assert one == exact == sampled
