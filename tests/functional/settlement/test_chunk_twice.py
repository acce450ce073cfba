"""A chunk that runs twice at the same time (a re-dispatched chunk while its first copy still
runs, or the broker's late redelivery of it) is applied once: the chunk's transaction takes the
chunk's locks before it reads its done mark, so the second copy waits for the first to commit
and then skips it. Real PostgreSQL, two real connections (threads)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from lending.settlement import runner, steps
from lending.settlement.models import Movement, RunChunk, RunState, SettlementRun
from partners.models import Partner
from tests.functional.settlement.test_real_workers import D0, D1, _deliver, _setup_portfolio
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def purged_ledger_at_teardown():
    yield
    ledger_purge()


def _in_thread(fn, out: list):
    def target():
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t


def test_the_same_chunk_at_once_twice_is_applied_once(purged_ledger_at_teardown, monkeypatch):
    monkeypatch.setattr(steps.plan, "APPLY_CHUNK_LOANS", 40)  # six apply chunks over 240 loans
    _setup_portfolio()
    alpha = Partner.objects.get(code="ALPHA")
    _deliver(D0)
    assert runner.settlement_run(partner=alpha, business_date=D0).state == RunState.DONE
    _deliver(D1)
    run = SettlementRun.objects.create(partner=alpha, business_date=D1, state=RunState.RUNNING)
    steps.plan_book(run)
    steps.plan_apply(run)
    chunk = RunChunk.objects.get(run=run, step="APPLY", seq=0)

    # a third connection holds the chunk's row lock (as a copy inside its transaction would)
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cur:
        cur.execute("SELECT id FROM lending_runchunk WHERE id = %s FOR UPDATE", [chunk.pk])
    results: list = []
    copies = [_in_thread(lambda: steps.apply_chunk(run_id=run.pk, seq=0), results)
              for _ in range(2)]
    time.sleep(1.0)
    assert all(t.is_alive() for t in copies), "both copies wait for the chunk's lock"
    holder.commit()
    holder.close()
    for t in copies:
        t.join(timeout=60)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sorted("skipped" in r for r in results) == [False, True], results
    applied = next(r for r in results if "skipped" not in r)
    assert applied["applied"] > 0
    assert Movement.objects.filter(run=run).count() == applied["movements"]
    with connection.cursor() as cur:
        cur.execute("""SELECT txn_id, loan_id, funder_id, event, component, installment_seq,
                              count(*)
                         FROM lending_movement WHERE run_id = %s AND txn_id IS NOT NULL
                        GROUP BY 1, 2, 3, 4, 5, 6 HAVING count(*) > 1""", [run.pk])
        assert cur.fetchall() == []

    # the run goes on from there; a late second finalize (the chord of a re-dispatched chunk
    # completing when the broker hands the lost message out again) finds it done and does nothing
    from lending import tasks

    # a late callback while this attempt still has chunks to do does nothing either
    assert RunChunk.objects.filter(run=run, done_at__isnull=True).exists()
    early = tasks.settlement_finalize.apply(kwargs={"run_id": run.pk}).get()
    assert early == {"run": run.pk, "state": RunState.RUNNING, "skipped": True,
                     "chunks_left": True}
    run = runner.settlement_run(partner=alpha, business_date=D1)
    assert run.state == RunState.DONE, run.error
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_journalline")
        lines = cur.fetchone()[0]
    late = tasks.settlement_finalize.apply(kwargs={"run_id": run.pk}).get()
    assert late == {"run": run.pk, "state": RunState.DONE, "skipped": True}
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_journalline")
        assert cur.fetchone()[0] == lines
    run.refresh_from_db()
    assert run.state == RunState.DONE and run.attempts == 1
