"""Real `celery -A config worker` processes started from Python: the benchmark's `--workers`
and the real-worker tests (one definition of how a settlement worker is launched)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcesses:
    """Worker processes (pool solo) on one queue; `env` is added to each one's environment."""

    def __init__(self, queue: str, *, name: str = "w", env: dict | None = None):
        self.queue, self.name, self.env, self.procs = queue, name, dict(env or {}), []
        self.peaks: list[float] = []

    def start(self, n: int = 1, **env) -> None:
        for _ in range(n):
            node = f"{self.name}{len(self.procs)}-{self.queue}@%h"
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
                 "-Q", self.queue, "-n", node, "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel=WARNING"],
                cwd=ROOT, env=dict(os.environ, **self.env, **env),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait_ready(self, timeout: float = 60) -> bool:
        """True once every started worker answers a ping on the broker."""
        from config.celery import app

        deadline = time.monotonic() + timeout
        prefix = f"{self.name}"
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0) or []
            up = sum(1 for r in replies for node in r
                     if node.startswith(prefix) and f"-{self.queue}@" in node)
            if up >= len(self.procs):
                return True
        return False

    def peak_mb(self) -> list[float]:
        """Each running worker's peak resident memory (VmHWM)."""
        out = []
        for p in self.procs:
            try:
                with open(f"/proc/{p.pid}/status") as fh:
                    kb = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:"))
                out.append(kb / 1024)
            except (OSError, StopIteration):
                pass
        return out

    def stop(self) -> None:
        self.peaks = self.peak_mb() or self.peaks
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
