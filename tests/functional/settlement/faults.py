"""Crash drills for real workers, loaded only by the tests: a worker started with
CELERY_IMPORTS=tests.functional.settlement.faults imports this module, whose signal handlers
read the worker's environment:

- SETTLEMENT_FAULT_AFTER_CHUNK=<seq>: the worker process is killed (SIGKILL) right after that
  apply chunk committed, before its message is acknowledged — a power cut between the two.
- SETTLEMENT_FAULT_MID_CHUNK=<STEP>: the worker process is killed (SIGKILL) inside the first
  chunk of that step (BOOK or APPLY) it runs, just before the chunk's done mark is written: the
  chunk's work is done but not committed, so PostgreSQL rolls it back. With the solo pool the
  whole worker dies, and its message stays unacknowledged on the broker.

Production code carries no fault hooks."""

from __future__ import annotations

import os
import signal

from celery.signals import task_postrun, task_prerun
from django.db import connection

_TASK_STEP = {"lending.settlement_book": "BOOK", "lending.settlement_apply_chunk": "APPLY"}
_current: dict = {}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _before_done_mark(execute, sql, params, many, context):
    if (_current.get("step") == os.environ.get("SETTLEMENT_FAULT_MID_CHUNK")
            and sql.startswith('UPDATE "lending_runchunk" SET "done_at"')):
        _die()
    return execute(sql, params, many, context)


@task_prerun.connect
def _arm(sender=None, kwargs=None, **_):
    _current.clear()
    step = _TASK_STEP.get(getattr(sender, "name", ""))
    if step is not None:
        _current.update(step=step, seq=(kwargs or {}).get("seq"))
        if _before_done_mark not in connection.execute_wrappers:
            connection.execute_wrappers.append(_before_done_mark)


@task_postrun.connect
def _after(sender=None, kwargs=None, **_):
    target = os.environ.get("SETTLEMENT_FAULT_AFTER_CHUNK")
    if (target is not None and getattr(sender, "name", "") == "lending.settlement_apply_chunk"
            and str((kwargs or {}).get("seq")) == target):
        _die()
    _current.clear()
