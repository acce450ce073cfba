"""Celery tasks of the daily settlement: thin wrappers over lending.settlement."""

from __future__ import annotations

import os
import signal
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="lending.settlement_book", acks_late=True)
def settlement_book(*, run_id: int, seq: int = 0) -> int:
    from lending.settlement import steps

    return steps.book_chunk(run_id=run_id, seq=seq)


@shared_task(name="lending.settlement_apply_chunk", acks_late=True)
def settlement_apply_chunk(*, run_id: int, seq: int) -> dict:
    from lending.settlement import steps

    result = steps.apply_chunk(run_id=run_id, seq=seq)
    _fault_point(seq)
    return result


def _fault_point(seq: int) -> None:
    """Crash drill: with SETTLEMENT_FAULT_AFTER_CHUNK=<seq> in a worker's environment the worker
    process is killed (SIGKILL) right after that chunk committed, as a power cut would. Unset in
    production; the crash-and-rerun test uses it to stop a real worker at a known point."""
    target = os.environ.get("SETTLEMENT_FAULT_AFTER_CHUNK")
    if target is not None and target == str(seq):
        os.kill(os.getpid(), signal.SIGKILL)


@shared_task(name="lending.settlement_finalize", acks_late=True)
def settlement_finalize(*, run_id: int, timings: dict | None = None) -> dict:
    from lending.settlement import runner

    return runner.settlement_finalize(run_id=run_id, timings=timings)


@shared_task(name="lending.settle_day")
def settle_day(*, business_date: str | None = None) -> dict:
    """Beat entry: settle every platform for the date (default: yesterday, local time)."""
    from lending.settlement import runner

    day = date.fromisoformat(business_date) if business_date else (
        timezone.localdate() - timedelta(days=1))
    out = {}
    for partner in runner.settling_partners():
        try:
            run = runner.settlement_run(partner=partner, business_date=day)
            out[partner.code] = run.state
        except runner.SettlementError as exc:
            out[partner.code] = f"FAILED: {exc}"
    return out
