"""Celery tasks of the daily settlement: thin wrappers over lending.settlement.

Chunk and finalize tasks acknowledge late (a worker that dies leaves them on the broker) and
carry the time limits of config/settings.py. The orchestrating tasks (rerun, the scheduler's)
acknowledge early: they only wait on the others, hold a per-run lock while they do, and are
started again by the next scheduler tick or by staff, never by the broker behind their back.
"""

from __future__ import annotations

from datetime import date, datetime

from celery import shared_task
from django.conf import settings

from config import locks

_CHUNK = {"acks_late": True, "soft_time_limit": settings.SETTLEMENT_CHUNK_SOFT_LIMIT,
          "time_limit": settings.SETTLEMENT_CHUNK_HARD_LIMIT}


@shared_task(name="lending.settlement_book", **_CHUNK)
def settlement_book(*, run_id: int, seq: int = 0) -> int:
    from lending.settlement import steps

    return steps.book_chunk(run_id=run_id, seq=seq)


@shared_task(name="lending.settlement_apply_chunk", **_CHUNK)
def settlement_apply_chunk(*, run_id: int, seq: int) -> dict:
    from lending.settlement import steps

    return steps.apply_chunk(run_id=run_id, seq=seq)


@shared_task(name="lending.settlement_finalize", acks_late=True,
             soft_time_limit=settings.SETTLEMENT_FINALIZE_SOFT_LIMIT,
             time_limit=settings.SETTLEMENT_FINALIZE_HARD_LIMIT)
def settlement_finalize(*, run_id: int, timings: dict | None = None) -> dict:
    """The chord callback, or the orchestrator's own after a chunk was re-dispatched. Runs once
    per attempt of a run: a second copy (the chord of a lost chunk completing late, when the
    broker hands the lost message out again) waits for the first and then finds the run no
    longer RUNNING."""
    from lending.settlement import runner
    from lending.settlement.models import RunChunk, RunState, SettlementRun

    with locks.session(locks.SETTLEMENT_FINALIZE, run_id):
        state = SettlementRun.objects.values_list("state", flat=True).get(pk=run_id)
        if state != RunState.RUNNING:
            return {"run": run_id, "state": state, "skipped": True}
        if RunChunk.objects.filter(run_id=run_id, done_at__isnull=True).exists():
            # a late callback of an earlier attempt while a new one still has chunks to do
            return {"run": run_id, "state": state, "skipped": True, "chunks_left": True}
        return runner.settlement_finalize(run_id=run_id, timings=timings)


@shared_task(name="lending.settlement_rerun", acks_late=False)
def settlement_rerun(*, run_id: int) -> dict:
    """The admin's rerun: settle the run's partner and date again on the workers."""
    from lending.settlement import runner
    from lending.settlement.models import SettlementRun

    run = SettlementRun.objects.select_related("partner").get(pk=run_id)
    try:
        run = runner.settlement_run(partner=run.partner, business_date=run.business_date)
    except runner.RunLocked as exc:  # another orchestrator has it: nothing to do here
        return {"run": run_id, "state": "LOCKED", "error": str(exc)}
    except runner.SettlementError as exc:
        return {"run": run_id, "state": "FAILED", "error": str(exc)}
    return {"run": run_id, "state": run.state, "error": run.error}


@shared_task(name="lending.settle_book_of_days", acks_late=False)
def settle_book_of_days(*, up_to: str | None = None, now: str | None = None) -> dict:
    """Nightly (beat): every platform, every business day up to yesterday that is not DONE,
    oldest first; then the alerts whose cut-off has passed. `now` (ISO datetime, default the
    clock) says when "tonight" is: yesterday and the cut-offs count from it."""
    from lending.settlement import scheduler

    return scheduler.book_of_days(up_to=date.fromisoformat(up_to) if up_to else None,
                                  now=datetime.fromisoformat(now) if now else None)


@shared_task(name="lending.settle_retry_tick", acks_late=False)
def settle_retry_tick() -> dict:
    """Every SETTLEMENT_RETRY_MINUTES (beat): WAITING runs tried again until their cut-off;
    after it, alerts for missing files and failed runs."""
    from lending.settlement import scheduler

    return scheduler.retry_tick()


@shared_task(name="lending.statements_overdue", acks_late=False)
def statements_overdue(*, now: str | None = None) -> dict:
    """Daily (beat): statements of DONE runs not issued yet are issued; an issued statement
    still unpaid after its due date raises one alert."""
    from lending.settlement import statements

    return statements.statements_daily(now=datetime.fromisoformat(now) if now else None)


@shared_task(name="lending.settle_day", acks_late=False)
def settle_day(*, business_date: str | None = None) -> dict:
    """The former beat entry (settle one date): now the book of days up to that date."""
    return settle_book_of_days(up_to=business_date)
