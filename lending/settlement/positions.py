"""The run's position totals: the sub-ledger summed once per run.

Posting (the accrual delta) and the sub-ledger = GL check both need Σ of every loan share's
position of the partner as of the run's date, per funder, program and accrual flag. At a million
loans `lending_share_positions` costs ~9 s per evaluation (a per-loan window over two million
shares); `lending_position_totals` gives the same sums in one parallel pass (~3.5 s), and the
run's finalize step evaluates it once into a small temporary table of this connection that both
read. Nothing between them changes loan state (posting, statements and breaks write other
tables), so the snapshot is exactly what a fresh evaluation would give. Outside a snapshot (the
`check_ledger` command, tests) `source()` gives the function call.

The reconciliation runs alongside on a second connection (runner._Alongside), so this parallel
pass and it share two cores. Measured at 1.12-1.21M loans: the totals without parallel workers
took 11.9-12.5 s (parallel 8.4-12.2 s), the reconciliation beside them 9.0-9.7 s (12.6-14.2 s),
and the finalize step's critical path came to the same 12.8-13.5 s against 12.7-14.2 s; kept
parallel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.db import connection

log = logging.getLogger(__name__)

TABLE = "run_position_totals"
_active: dict[int, tuple[int, date]] = {}  # id(DB-API connection) → (partner_id, date)


@contextmanager
def positions_snapshot(*, partner_id: int, business_date: date) -> Iterator[None]:
    """Evaluate the position totals once for the block; `source()` then reads the snapshot."""
    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        # Two cores or more: a parallel scan of shares and loans pays off at this size.
        cur.execute("SELECT set_config('parallel_setup_cost', '100', false),"
                    " set_config('jit', 'off', false)")
        try:
            cur.execute(f"CREATE TEMP TABLE {TABLE} AS "
                        "SELECT * FROM lending_position_totals(%s, %s)",
                        [business_date, partner_id])
        finally:
            cur.execute("RESET parallel_setup_cost; RESET jit")
    log.info("position totals partner=%s date=%s ms=%d", partner_id, business_date,
             (time.monotonic() - started) * 1000)
    key = id(connection.connection)
    _active[key] = (partner_id, business_date)
    try:
        yield
    finally:
        _active.pop(key, None)
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {TABLE}")


def source(partner_id: int, business_date: date) -> tuple[str, list]:
    """(FROM-clause relation, params): the position totals of a partner as of a date —
    columns funder_id, program_id, accruing, principal, interest, penalty, compound."""
    if connection.connection is not None and \
            _active.get(id(connection.connection)) == (partner_id, business_date):
        return TABLE, []
    return "lending_position_totals(%s, %s)", [business_date, partner_id]
