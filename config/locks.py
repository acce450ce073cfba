"""Every PostgreSQL advisory lock of the project: the named locks and their one key scheme.

A lock is a `Lock` name (``"settlement.run"``) plus the values that make it specific (a
partner id, a business date). Its key is one 64-bit integer computed by the database:

    hashtextextended('<name>:<part>:<part>…', 0)

the same expression whether the lock is taken from Python (the functions below) or from SQL:
the ledger's entry trigger (ledger/sql/ledger_integrity.sql) takes ``ledger.period:<book id>``
shared as ``hashtextextended('ledger.period:' || NEW.book_id, 0)``. One key space (the
single-bigint one; PostgreSQL keeps it apart from the two-int4 one), one text per lock and
its parts: two different locks cannot share a key short of a 64-bit hash collision, as the
former per-module class numbers (0x5E771E…) and bare ``(run_id, seq)`` pairs could.

The module sits in ``config`` because every app takes locks and ``partners`` and ``ledger`` may
import no other app; it imports nothing of the project (.importlinter keeps it so). Taking a
lock that is not registered here is a mistake the test suite catches
(tests/unit/foundation/test_locks.py: no ``pg_advisory`` call outside this module and the
ledger trigger).

Two lifetimes:

- transaction locks (``xact``, ``try_xact``) end with the transaction: for work that is one
  transaction (an import, a reconcile, an apply chunk, a period close);
- session locks (``session``, ``is_free``) are held by the connection across transactions
  until released: for orchestrators that commit as they go (a run, a scheduler pass, a
  finalize). ``session`` always releases what it took.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Lock:
    name: str
    parts: tuple[str, ...]  # what the values given with the lock are, in order
    purpose: str

    def text(self, *values: object) -> str:
        """The text whose hash is the key: ``name:value:value…``."""
        if len(values) != len(self.parts):
            raise TypeError(f"lock {self.name} takes {', '.join(self.parts)}; got {values!r}")
        return ":".join([self.name, *(str(v) for v in values)])


PARTNER_INBOUND = Lock(
    "partners.inbound", ("partner_id",),
    "a partner's file imports one at a time (transaction), so the resend and cross-file "
    "duplicate checks see every earlier file committed")
LEDGER_PERIOD = Lock(
    "ledger.period", ("book_id",),
    "posting into a book (shared, by the entry trigger in SQL) against closing one of its "
    "periods (exclusive, ledger.services.period_close) (transaction)")
SETTLEMENT_RUN = Lock(
    "settlement.run", ("partner_id", "business_date"),
    "one orchestrator of a partner's business date (session, try: a second is refused)")
SETTLEMENT_SCHEDULER = Lock(
    "settlement.scheduler", ("partner_id",),
    "one scheduler pass per partner (session, try: a partner being settled is left alone)")
SETTLEMENT_FINALIZE = Lock(
    "settlement.finalize", ("run_id",),
    "one finalize of a run at a time (session, waits: a late second copy then finds the run "
    "no longer RUNNING)")
SETTLEMENT_APPLY_CHUNK = Lock(
    "settlement.apply_chunk", ("run_id", "seq"),
    "one apply of a chunk at a time (transaction: a redelivered copy waits, then skips it)")
RECONCILE = Lock(
    "reconciliation.partner", ("partner_id",),
    "one reconcile per partner (transaction: a run and a staff rerun do not interleave)")

REPORTS_PORTFOLIO_DAYS = Lock(
    "reports.portfolio_days", (),
    "one portfolio-days build at a time (transaction, try: a second is a no-op)")

REGISTRY: tuple[Lock, ...] = (PARTNER_INBOUND, LEDGER_PERIOD, SETTLEMENT_RUN,
                              SETTLEMENT_SCHEDULER, SETTLEMENT_FINALIZE,
                              SETTLEMENT_APPLY_CHUNK, RECONCILE, REPORTS_PORTFOLIO_DAYS)

_KEY = "hashtextextended(%s, 0)"


def _one(sql: str, params: list) -> object:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def xact(lock: Lock, *values: object, shared: bool = False) -> None:
    """Wait for and take ``lock`` until the current transaction ends."""
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    _one(f"SELECT {fn}({_KEY})", [lock.text(*values)])


def try_xact(lock: Lock, *values: object) -> bool:
    """Take ``lock`` until the transaction ends if it is free; False (not taken) otherwise."""
    return bool(_one(f"SELECT pg_try_advisory_xact_lock({_KEY})", [lock.text(*values)]))


@contextmanager
def session(lock: Lock, *values: object, wait: bool = True) -> Iterator[bool]:
    """Hold ``lock`` on this connection for the block, across its transactions.

    ``wait=False``: do not wait; the block gets False (and holds nothing) if it is taken."""
    text = lock.text(*values)
    if wait:
        _one(f"SELECT pg_advisory_lock({_KEY})", [text])
        got = True
    else:
        got = bool(_one(f"SELECT pg_try_advisory_lock({_KEY})", [text]))
    try:
        yield got
    finally:
        if got:
            _one(f"SELECT pg_advisory_unlock({_KEY})", [text])


def is_free(lock: Lock, *values: object) -> bool:
    """Whether nobody holds ``lock`` now (taken and at once released: a probe, not a hold)."""
    with session(lock, *values, wait=False) as got:
        return got
