"""A real Celery worker process against the real broker runs a task (CI: Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def celery_worker_process(broker_url):
    broker = broker_url
    env = dict(os.environ, CELERY_BROKER_URL=broker)
    # A private queue so that a stray worker on the same broker cannot take our task.
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield queue
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.worker
def test_a_real_worker_runs_a_task_through_the_real_broker(celery_worker_process, settings):
    from config.celery import app, ping

    assert not app.conf.task_always_eager, "the worker test must not run tasks in-process"
    result = ping.apply_async(kwargs={"payload": "hello-from-test"}, queue=celery_worker_process)
    assert result.get(timeout=60) == "hello-from-test"
