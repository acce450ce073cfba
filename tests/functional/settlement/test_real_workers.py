"""The settlement on real Celery worker processes and a real broker (CI: Redis).

Same inputs → same fingerprint: with one worker, with two, after a worker is killed
part-way (SIGKILL right after a chunk committed) and the day is run again, and when a worker is
killed mid-chunk (before its commit) while another lives: the orchestrator re-dispatches the
stalled chunk and the run finishes within the stall time. The admin's rerun returns at once.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from benchmarks.workers import WorkerProcesses
from ledger.services import chart_of_accounts_load
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import Agreement, Loan
from lending.settlement import posting, runner, steps
from lending.settlement.models import RunChunk, RunState, SettlementRun
from partners.models import Partner
from tests.factories import lending as f
from tests.factories.calendar import only_business_day
from tests.support.ledger import ledger_purge

D0, D1 = date(2026, 3, 2), date(2026, 4, 2)
FAULTS = "tests.functional.settlement.faults"
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _db_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers(WorkerProcesses):
    """Real workers on a private queue of the real broker, against the test database."""

    def __init__(self, broker: str, queue: str):
        # the tests' crash drills (faults.py) are loaded into every worker; the orchestrating
        # tasks a worker runs (rerun) send their chunks to the same private queue
        super().__init__(queue, env={"CELERY_BROKER_URL": broker, "DATABASE_URL": _db_url(),
                                     "CELERY_IMPORTS": FAULTS, "SETTLEMENT_QUEUE": queue})


def _setup_portfolio() -> None:
    chart_of_accounts_load()
    platform = f.partner("ALPHA")
    guarantor = f.partner("GUARD", kind="GUARANTOR")
    agreement = services.agreement_create(code="AG-W", name="w", platform=platform,
                                          guarantor=guarantor)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2020, 1, 1),
        funders=[services.FunderTerms(f.bank(), Decimal("0.70")),
                 services.FunderTerms(platform, Decimal("0.30"))],
        created_by=f.user("maker"))
    services.agreement_version_approve(version=version, approved_by=f.approver("checker"))
    services.program_create(partner=platform, agreement=Agreement.objects.get(code="AG-W"),
                            code="CASH", name="cash",
                            repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"])


def _deliver(day: date) -> None:
    only_business_day(day, partner_code="ALPHA")  # D0 and D1 are a month apart
    if day == D0:
        rows = {"loans": [(f"L{i:04d}", "CASH", f"b{i}", f"{1000 + 37 * i}.{i % 100:02d}",
                           "0.18" if i % 2 else "0.12", 6 + (i % 3) * 3,
                           "EQUAL_PRINCIPAL" if i % 5 == 0 else "EQUAL_INSTALLMENT",
                           D0.isoformat(), "", f"BA{i}") for i in range(240)]}
    else:
        rows = {"repayments": []}
        for n, loan in enumerate(Loan.objects.order_by("loan_no")):
            inst = loan.installments.get(seq=1)
            due = inst.principal_due + inst.interest_due
            kind, amount = "SCHEDULED", due
            if n % 7 == 0:
                continue  # does not pay: overdue from tomorrow
            if n % 11 == 0:
                kind, amount = "PREPAYMENT", due + 300
            elif n % 13 == 0:
                amount = due + Decimal("25.00")  # overpayment to suspense
            rows["repayments"].append((f"T{n:05d}", loan.loan_no, day, f"{amount:.2f}",
                                       "BORROWER", kind))
    for kind, r in partner_files_import(partner="ALPHA", business_date=day, files=rows).items():
        assert r["status"] == "ACCEPTED", (kind, r)


def _settle(day: date, timeout: float = 120) -> SettlementRun:
    return runner.settlement_run(partner=Partner.objects.get(code="ALPHA"), business_date=day,
                                 timeout=timeout)


def _reset_database() -> None:
    ledger_purge()
    call_command("flush", interactive=False, verbosity=0)


def _scenario(broker: str, settings, *, workers: int, crash_after_chunk: int | None) -> list:
    queue = f"settle-{os.getpid()}-{time.monotonic_ns()}"
    settings.SETTLEMENT_QUEUE = queue
    pool = Workers(broker, queue)
    try:
        _reset_database()
        _setup_portfolio()
        prints = []
        for day in (D0, D1):
            _deliver(day)
            if crash_after_chunk is not None and day == D1:
                pool.stop()  # only the worker that will crash serves this attempt
                pool.start(1, SETTLEMENT_FAULT_AFTER_CHUNK=str(crash_after_chunk))
                with pytest.raises(runner.SettlementError):
                    _settle(day, timeout=15)
                pool.procs[0].wait(timeout=30)
                assert pool.procs[0].returncode == -9, "the worker was to be killed"
                run = SettlementRun.objects.get(business_date=day)
                done = RunChunk.objects.filter(run=run, step="APPLY", done_at__isnull=False)
                total = RunChunk.objects.filter(run=run, step="APPLY").count()
                assert 0 < done.count() < total, "the crash was to come part-way"
                assert run.state == RunState.FAILED
                pool.stop()
            if not pool.procs:
                pool.start(workers)
            run = _settle(day)
            assert run.state == RunState.DONE, (run.error, run.totals.get("check_problems"))
            prints.append(posting.fingerprint(day, "ALPHA"))
        return prints
    finally:
        pool.stop()


@pytest.fixture
def purged_ledger_at_teardown():
    yield
    ledger_purge()  # the ledger refuses TRUNCATE while it holds rows; the flush comes next


def test_one_worker_two_workers_and_a_crash_give_the_same_fingerprint(
    broker_url, settings, monkeypatch, purged_ledger_at_teardown
):
    monkeypatch.setattr(steps.plan, "APPLY_CHUNK_LOANS", 40)  # six chunks over 240 loans
    clean = _scenario(broker_url, settings, workers=1, crash_after_chunk=None)
    two = _scenario(broker_url, settings, workers=2, crash_after_chunk=None)
    crashed = _scenario(broker_url, settings, workers=1, crash_after_chunk=2)
    assert clean == two == crashed
    # and a rerun of the finished day posts nothing
    lines_before = _line_count()
    settings.SETTLEMENT_QUEUE = f"settle-rerun-{os.getpid()}"
    pool = Workers(broker_url, settings.SETTLEMENT_QUEUE)
    pool.start(1)
    try:
        run = _settle(D1)
    finally:
        pool.stop()
    assert run.state == RunState.DONE
    assert _line_count() == lines_before
    assert posting.fingerprint(D1, "ALPHA") == crashed[1]


def _line_count() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_journalline")
        return cur.fetchone()[0]


STALL = 6  # SETTLEMENT_STALL_SECONDS of these tests: a dead worker's chunk is sent again after it
MARGIN = 20  # what the rest of the run (the other chunks, finalize) may take on a busy machine


class _Death:
    """Watches a worker process and notes when it died."""

    def __init__(self, proc):
        self.proc, self.at = proc, None
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while self.proc.poll() is None:
            time.sleep(0.02)
        self.at = time.monotonic()


def _killed_mid_chunk_scenario(broker: str, settings) -> tuple[list, list[dict]]:
    """Two workers per day: one lives, one is killed (-9) inside its first chunk, before the
    chunk commits — a BOOK chunk on D0, an APPLY chunk on D1."""
    queue = f"settle-kill-{os.getpid()}-{time.monotonic_ns()}"
    settings.SETTLEMENT_QUEUE = queue
    settings.SETTLEMENT_STALL_SECONDS = STALL
    pool = Workers(broker, queue)
    figures = []
    try:
        _reset_database()
        _setup_portfolio()
        pool.start(1)  # the worker that lives
        prints = []
        for day, step in ((D0, "BOOK"), (D1, "APPLY")):
            _deliver(day)
            pool.start(1, SETTLEMENT_FAULT_MID_CHUNK=step)
            victim = pool.procs[-1]
            assert pool.wait_ready(), "the workers did not come up"
            death = _Death(victim)
            started = time.monotonic()
            run = _settle(day, timeout=STALL + 4 * MARGIN)
            finished = time.monotonic()
            victim.wait(timeout=10)
            assert victim.returncode == -9, f"the {step} worker was to be killed mid-chunk"
            assert run.state == RunState.DONE, (run.error, run.totals.get("check_problems"))
            again = RunChunk.objects.filter(run=run, step=step, dispatches__gt=1)
            assert again.count() == 1, "the dead worker's chunk was to be sent again"
            assert not RunChunk.objects.filter(run=run, done_at__isnull=True).exists()
            kill_to_done = finished - death.at
            figures.append({"step": step, "kill_to_done_s": round(kill_to_done, 1),
                            "run_s": round(finished - started, 1)})
            assert kill_to_done < STALL + MARGIN, figures
            prints.append(posting.fingerprint(day, "ALPHA"))
            pool.procs.remove(victim)
        return prints, figures
    finally:
        pool.stop()


@pytest.mark.slow  # ~25 s: a clean run to compare with, then two kills on two days
def test_a_worker_killed_mid_chunk_is_replaced_within_the_stall_time(
    broker_url, settings, monkeypatch, purged_ledger_at_teardown
):
    """Issue 19 item 3: a worker killed with -9 mid-chunk used to leave `settle` waiting in
    BOOK/APPLY for the broker's 1-hour redelivery. Now the stalled chunk is re-dispatched after
    SETTLEMENT_STALL_SECONDS, the run ends DONE within the stall time + a margin, and the books
    equal those of a clean run (the rolled-back chunk is applied once)."""
    monkeypatch.setattr(steps.plan, "APPLY_CHUNK_LOANS", 40)  # six apply chunks over 240 loans
    monkeypatch.setattr(steps.plan, "BOOK_CHUNK_LOANS", 40)  # six book chunks on D0
    clean = _scenario(broker_url, settings, workers=1, crash_after_chunk=None)
    killed, figures = _killed_mid_chunk_scenario(broker_url, settings)
    print("kill to DONE:", figures)
    assert killed == clean
    assert _line_count() > 0


def test_the_admin_rerun_returns_at_once_and_the_workers_finish_the_run(
    broker_url, settings, purged_ledger_at_teardown, staff_client
):
    """Issue 19 item 3: the admin's rerun used to settle inside the web request. It now sends a
    task and answers at once; the run page shows the chunks as they are done; a worker ends it."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.urls import reverse

    queue = f"settle-rerun-admin-{os.getpid()}-{time.monotonic_ns()}"
    settings.SETTLEMENT_QUEUE = queue
    pool = Workers(broker_url, queue)
    try:
        _setup_portfolio()
        _deliver(D0)
        run = SettlementRun.objects.create(partner=Partner.objects.get(code="ALPHA"),
                                           business_date=D0)
        pool.start(2)  # one runs the rerun (it orchestrates), the other the chunks
        assert pool.wait_ready()
        started = time.monotonic()
        resp = staff_client.post(reverse("admin:lending_settlementrun_changelist"),
                                 {"action": "rerun_runs", ACTION_CHECKBOX_NAME: [run.pk]},
                                 follow=True)
        answered = time.monotonic() - started
        run.refresh_from_db()
        assert resp.status_code == 200 and "rerun started" in resp.content.decode()
        assert run.state != RunState.DONE, "the request was to return before the run is done"
        assert answered < 5, answered
        deadline = time.monotonic() + 120
        while run.state != RunState.DONE and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
        assert run.state == RunState.DONE, (run.state, run.error)
        page = staff_client.get(reverse("admin:lending_settlementrun_change", args=[run.pk]))
        n = RunChunk.objects.filter(run=run, step="APPLY").count()
        assert n >= 1 and f"APPLY {n}/{n} chunks done" in page.content.decode()
        assert "BOOK 1/1 chunks done" in page.content.decode()
        print(f"rerun answered in {answered:.2f}s, DONE after {time.monotonic() - started:.1f}s")
    finally:
        pool.stop()


def test_beat_runs_the_book_of_days_from_the_schedule_in_the_database(
    broker_url, settings, purged_ledger_at_teardown, tmp_path
):
    """Issue 19 item 6: the schedule is rows of django-celery-beat, edited without a deploy
    (here: the nightly task set to every 2 s on a private queue, as staff would in the admin);
    a real beat sends it, real workers settle the last business day that is not DONE."""
    import subprocess
    import sys

    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from benchmarks.workers import ROOT
    from lending.settlement import scheduler
    from partners.calendar import previous_business_day

    queue = f"settle-beat-{os.getpid()}-{time.monotonic_ns()}"
    settings.SETTLEMENT_QUEUE = queue
    _setup_portfolio()
    day = previous_business_day(timezone.localdate())
    rows = [(f"B{i:04d}", "CASH", f"b{i}", f"{2000 + 13 * i}.00", "0.18", 6,
             "EQUAL_INSTALLMENT", day.isoformat(), "", f"BA{i}") for i in range(30)]
    for kind, r in partner_files_import(partner="ALPHA", business_date=day,
                                        files={"loans": rows}).items():
        assert r["status"] == "ACCEPTED", (kind, r)
    call_command("settlement_schedule")
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    nightly = PeriodicTask.objects.get(name=scheduler.NIGHTLY_NAME)
    nightly.crontab, nightly.interval, nightly.queue = None, every, queue
    nightly.save()
    PeriodicTask.objects.filter(name=scheduler.RETRY_NAME).update(enabled=False)

    pool = Workers(broker_url, queue)
    pool.start(2)  # one runs the nightly task (it orchestrates), the other the chunks
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
         "-s", str(tmp_path / "beat-schedule"), "--pidfile", str(tmp_path / "beat.pid")],
        cwd=ROOT, env=dict(os.environ, **pool.env), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        state = None
        while time.monotonic() < deadline and state != RunState.DONE:
            time.sleep(0.5)
            state = (SettlementRun.objects.filter(partner__code="ALPHA", business_date=day)
                     .values_list("state", flat=True).first())
        assert state == RunState.DONE, state
        assert posting.fingerprint(day, "ALPHA")
    finally:
        beat.terminate()
        beat.wait(timeout=30)
        pool.stop()
