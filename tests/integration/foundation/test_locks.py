"""config.locks against a real PostgreSQL: a second session is refused or waits, and a session
lock is released when its block ends, by an exception too."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, connections, transaction

from config import locks

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


@pytest.fixture
def other():
    """A second session on the same database (another worker)."""
    conn = connections.create_connection("default")
    yield conn
    conn.close()


def _other_takes(conn, lock: locks.Lock, *values) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                    [lock.text(*values)])
        return cur.fetchone()[0]


def test_a_session_lock_is_held_for_the_block_and_released_after(other):
    with locks.session(locks.SETTLEMENT_RUN, 7, DAY, wait=False) as got:
        assert got is True
        assert not _other_takes(other, locks.SETTLEMENT_RUN, 7, DAY)
        assert _other_takes(other, locks.SETTLEMENT_RUN, 7, date(2026, 3, 3))  # another key
        assert _other_takes(other, locks.SETTLEMENT_SCHEDULER, 7)  # another lock
    assert locks.is_free(locks.SETTLEMENT_RUN, 7, DAY)
    with pytest.raises(RuntimeError), locks.session(locks.SETTLEMENT_FINALIZE, 9):
        raise RuntimeError
    assert locks.is_free(locks.SETTLEMENT_FINALIZE, 9)


def test_a_lock_another_session_holds_is_refused_not_waited_for(other):
    assert _other_takes(other, locks.SETTLEMENT_SCHEDULER, 3)

    with locks.session(locks.SETTLEMENT_SCHEDULER, 3, wait=False) as got:
        assert got is False
    assert not locks.is_free(locks.SETTLEMENT_SCHEDULER, 3)
    with transaction.atomic():
        assert locks.try_xact(locks.SETTLEMENT_SCHEDULER, 3) is False
        assert locks.try_xact(locks.RECONCILE, 3) is True


@pytest.mark.django_db(transaction=True)
def test_a_transaction_lock_ends_with_its_transaction(other):
    with transaction.atomic():
        locks.xact(locks.RECONCILE, 5)
        assert not _other_takes(other, locks.RECONCILE, 5)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND pid = pg_backend_pid()")
            assert cur.fetchone()[0] == 1
    assert _other_takes(other, locks.RECONCILE, 5)  # committed: released
