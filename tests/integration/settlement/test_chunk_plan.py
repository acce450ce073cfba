"""Apply chunks cut from a page sample (steps._plan_chunks): every row of the partner in exactly
one chunk whatever the sample saw, chunks of about the asked size, the exact cut for small
partners."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from lending.settlement import steps
from lending.settlement.models import RunChunk, SettlementRun
from tests.factories import lending as f

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
    n = steps._plan_chunks(run, "APPLY", table=table, key="id", where="partner_id = %s",
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
    # contiguous from 0 to the largest bigint: rows the sample missed still fall in a chunk
    assert ranges[0][0] == 0 and ranges[-1][1] == steps.MAX_BIGINT
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
