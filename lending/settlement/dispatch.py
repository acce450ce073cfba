"""Sending a run's chunks to the Celery workers and waiting for them, re-dispatching a chunk
whose worker died.

A chunk is sent to the workers with its `dispatched_at` and `dispatches` recorded. A worker
killed mid-chunk (-9, power cut) leaves the chunk without its done mark and its message
unacknowledged on the broker, which hands it out again only after the visibility timeout. The
orchestrator does not wait for that: a chunk with no done mark whose last dispatch is older
than SETTLEMENT_STALL_SECONDS, while no chunk of the step finished in that time either, and
whose row no chunk transaction holds locked (a live worker inside the chunk holds it until its
commit) is sent again. Running a chunk twice is harmless: the chunk's transaction takes the
chunk's row lock (and apply takes an advisory lock on the chunk) before it looks at its done
mark, so a second copy waits for the first to commit and then skips (steps.common._claim_chunk).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import Task, chord, current_app, group
from celery.result import AsyncResult
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from lending.settlement.errors import SettlementError
from lending.settlement.models import RunChunk, SettlementRun

log = logging.getLogger(__name__)


def task(name: str) -> Task:
    """A Celery task of lending/tasks.py, by its registered name. The tasks call into the
    settlement package, so it never imports them back: Celery's autodiscovery (config/celery.py) registers
    them, and runs here if this process has not done so yet (a command, a test)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def _dispatched(run: SettlementRun, step: str, seqs: list[int]) -> None:
    RunChunk.objects.filter(run=run, step=step, seq__in=seqs, done_at__isnull=True).update(
        dispatched_at=timezone.now(), dispatches=F("dispatches") + 1)


def _stalled(run: SettlementRun, step: str) -> list[int]:
    """The step's chunks to send again (and records the new dispatch); empty while it moves."""
    now = timezone.now()
    horizon = now - timedelta(seconds=settings.SETTLEMENT_STALL_SECONDS)
    chunks = RunChunk.objects.filter(run=run, step=step)
    last_done = chunks.aggregate(last=Max("done_at"))["last"]
    if last_done is not None and last_done > horizon:
        return []  # a chunk finished within the stall time: the workers are alive
    with transaction.atomic():
        seqs = list(chunks.select_for_update(skip_locked=True)
                    .filter(done_at__isnull=True, dispatched_at__lt=horizon)
                    .order_by("seq").values_list("seq", flat=True))
        if seqs:
            chunks.filter(seq__in=seqs).update(dispatched_at=now,
                                               dispatches=F("dispatches") + 1)
    return seqs


def _redispatch(chunk_task: Task, run: SettlementRun, step: str, say) -> dict[int, object]:
    sent = {}
    for seq in _stalled(run, step):
        log.warning("settlement %s %s: %s chunk %s made no progress for %ss: re-dispatched",
                    run.partner.code, run.business_date, step, seq,
                    settings.SETTLEMENT_STALL_SECONDS)
        say(f"  {step} chunk {seq} re-dispatched (no progress for "
            f"{settings.SETTLEMENT_STALL_SECONDS}s)")
        sent[seq] = chunk_task.si(run_id=run.pk, seq=seq).set(
            queue=settings.SETTLEMENT_QUEUE).apply_async()
    return sent


def run_chunks(chunk_task: Task, run: SettlementRun, step: str, seqs: list[int],
               timeout: float, say) -> None:
    """Send the step's chunks and wait until every one has its done mark; a chunk task's
    exception fails the run, a stalled chunk is sent again."""
    _dispatched(run, step, seqs)
    results = {s: chunk_task.si(run_id=run.pk, seq=s).set(queue=settings.SETTLEMENT_QUEUE)
               .apply_async() for s in seqs}
    deadline = time.monotonic() + timeout
    while True:
        left = set(RunChunk.objects.filter(run=run, step=step, done_at__isnull=True)
                   .values_list("seq", flat=True))
        if not left:
            return
        for seq in left:
            if results[seq].ready() and results[seq].failed():
                results[seq].get(propagate=True, disable_sync_subtasks=False)
        if time.monotonic() > deadline:
            raise SettlementError(f"timed out after {timeout}s waiting for the {step} chunks")
        results.update(_redispatch(chunk_task, run, step, say))
        time.sleep(0.2)


def dispatch_apply(run: SettlementRun, seqs: list[int], callback):
    """The apply chunks as a chord whose callback (finalize) runs when the last one returns."""
    chunk = task("lending.settlement_apply_chunk")
    _dispatched(run, "APPLY", seqs)
    header = group(chunk.si(run_id=run.pk, seq=s).set(
        queue=settings.SETTLEMENT_QUEUE) for s in seqs)
    return chord(header)(callback)


def wait_apply(result, run: SettlementRun, total: int, timeout: float, say, *,
               callback=None) -> None:
    """Wait for the chord of the apply chunks and its callback, re-dispatching stalled chunks.

    A re-dispatched chunk is a task of its own: the chord still counts the lost one, so once
    every chunk has its done mark the orchestrator sends the callback itself (when the lost
    message comes back later its chunk is skipped and its callback finds the run finished —
    lending.tasks.settlement_finalize runs a run's finalize once)."""
    deadline = time.monotonic() + timeout
    last = -1
    redispatched = False
    resent: dict[int, AsyncResult] = {}
    while not result.ready():
        done = RunChunk.objects.filter(run=run, step="APPLY", done_at__isnull=False).count()
        if done != last:
            say(f"  chunks {done}/{total}")
            last = done
        if time.monotonic() > deadline:
            raise SettlementError(f"timed out after {timeout}s waiting for the chunks")
        for again in resent.values():
            if again.ready() and again.failed():
                again.get(propagate=True, disable_sync_subtasks=False)
        if done < total:
            sent = _redispatch(task("lending.settlement_apply_chunk"), run, "APPLY", say)
            resent.update(sent)
            redispatched |= bool(sent)
        elif redispatched and callback is not None:
            say("  every chunk done: finalize sent (the chord waits for a lost chunk)")
            result, callback = callback.apply_async(), None
        time.sleep(0.2)
    result.get(propagate=True, disable_sync_subtasks=False)
