"""Celery and the daily settlement run's settings, from the environment: config/settings.py
imports every name here (README, "Configuration (environment variables)", lists them).

CELERY_BROKER_URL    unset: tasks run eagerly in-process; set: redis:// or amqp:// broker
CELERY_RESULT_BACKEND  defaults to the broker when it is Redis, else redis://127.0.0.1:6379/1
"""

from __future__ import annotations

import os

from config.env import env_int

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND: str | None
if CELERY_BROKER_URL:
    CELERY_TASK_ALWAYS_EAGER = False
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (
        CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "redis://127.0.0.1:6379/1"
    )
else:
    CELERY_BROKER_URL = "memory://"  # never used: tasks run in-process; no connection attempts
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
    CELERY_RESULT_BACKEND = None

# What a settlement needs from Celery when a worker dies (issue 19 item 3):
# - Late acknowledgement: a chunk's message is acknowledged only after the chunk committed, so a
#   worker that dies mid-chunk leaves the message on the broker to be delivered again (chunks
#   are idempotent: each commits with its done mark, a done chunk is skipped).
CELERY_TASK_ACKS_LATE = True
# - A pool child killed (-9, out of memory) mid-task: reject and requeue the message at once
#   instead of acknowledging it as failed, so the chunk runs again rather than failing the run.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# - Prefetch of one: a worker reserves only the chunk it runs, so the chunks it has not started
#   stay on the queue for the other workers (and are not lost with it if it dies).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# - Time limits of a chunk task (lending/tasks.py): a chunk takes seconds (50,000 loans ≈ 5 s);
#   one that runs past the soft limit is stopped with SoftTimeLimitExceeded (its transaction rolls
#   back, nothing half-applied), past the hard limit its worker process is killed. The chord
#   callback (post, statements, checks) is one task over the whole run: its own, longer limits.
#   (The prefork pool of `make worker` enforces them; the solo pool cannot.)
SETTLEMENT_CHUNK_SOFT_LIMIT = env_int("SETTLEMENT_CHUNK_SOFT_LIMIT", 600)
SETTLEMENT_CHUNK_HARD_LIMIT = env_int("SETTLEMENT_CHUNK_HARD_LIMIT", 660)
SETTLEMENT_FINALIZE_SOFT_LIMIT = env_int("SETTLEMENT_FINALIZE_SOFT_LIMIT", 1800)
SETTLEMENT_FINALIZE_HARD_LIMIT = env_int("SETTLEMENT_FINALIZE_HARD_LIMIT", 1860)
# - Broker visibility timeout (Redis): an unacknowledged message is handed out again after this
#   long. It must exceed the longest task that acknowledges late (the finalize hard limit), or a
#   live worker's task would be delivered a second time while it still runs; a dead worker's
#   chunk is not left to it (1 h by default) — the orchestrator re-dispatches a stalled chunk
#   after SETTLEMENT_STALL_SECONDS (lending/settlement/runner.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT",
                                   SETTLEMENT_FINALIZE_HARD_LIMIT + 300),
}
# A chunk sent to the workers that has no done mark after this many seconds while the run made
# no other progress (no chunk finished) is sent again: its worker is taken to be dead.
SETTLEMENT_STALL_SECONDS = env_int("SETTLEMENT_STALL_SECONDS", 120)
# Extra modules every worker imports at start (comma-separated): the real-worker tests load
# their fault drills this way (tests/functional/settlement/faults.py); unset in production.
CELERY_IMPORTS = tuple(m.strip() for m in os.environ.get("CELERY_IMPORTS", "").split(",")
                       if m.strip())
# The schedule is kept in the database (django-celery-beat: Periodic tasks in the admin) and
# created by `manage.py settlement_schedule` / the migration of lending (0021).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The queue the settlement's tasks go to (workers: `celery -A config worker -Q <queue>`).
SETTLEMENT_QUEUE = os.environ.get("SETTLEMENT_QUEUE", "celery")
# The nightly run settles every business day up to yesterday that is not DONE, at this local
# time (HH:MM) — the default of its periodic task (lending/settlement/scheduler.py).
SETTLEMENT_DAILY_AT = os.environ.get("SETTLEMENT_DAILY_AT", "02:30")
# WAITING runs are tried again every this many minutes until the cut-off (local HH:MM); after
# it a partner whose files are still missing, and a FAILED run, raise an alert.
SETTLEMENT_RETRY_MINUTES = env_int("SETTLEMENT_RETRY_MINUTES", 15)
# A loan's snapshot (its state at the start of a day a repayment of it was applied) is kept this
# many calendar days: a reversal of a repayment that old rebuilds the loan from it (DOMAIN §8.3);
# an older one restores the loan in place. The nightly book of days deletes the older ones.
LOAN_SNAPSHOT_DAYS = env_int("LOAN_SNAPSHOT_DAYS", 190)
SETTLEMENT_CUTOFF_AT = os.environ.get("SETTLEMENT_CUTOFF_AT", "10:00")
# A statement is due this many business days after its business date (T+1 by default); unpaid
# after that it raises an alert (lending/settlement/statements.py).
SETTLEMENT_PAYMENT_DAYS = env_int("SETTLEMENT_PAYMENT_DAYS", 1)
