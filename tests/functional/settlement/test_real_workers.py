"""The settlement on real Celery worker processes and a real broker (CI: Redis).

Same inputs → same fingerprint: with one worker, with two, and after a worker is killed
part-way (SIGKILL right after a chunk committed) and the day is run again.
"""

from __future__ import annotations

import os
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from ledger.services import chart_of_accounts_load
from ledger.testing import ledger_purge
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import Agreement, Loan
from lending.settlement import posting, runner, steps
from lending.settlement.models import RunChunk, RunState, SettlementRun
from lending.settlement.workers import WorkerProcesses
from partners.models import Partner
from tests.factories import lending as f

D0, D1 = date(2026, 3, 2), date(2026, 4, 2)
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
        super().__init__(queue, env={"CELERY_BROKER_URL": broker, "DATABASE_URL": _db_url()})


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
    services.agreement_version_approve(version=version, approved_by=f.user("checker"))
    services.program_create(partner=platform, agreement=Agreement.objects.get(code="AG-W"),
                            code="CASH", name="cash",
                            repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"])


def _deliver(day: date) -> None:
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
    monkeypatch.setattr(steps, "APPLY_CHUNK_LOANS", 40)  # six chunks over 240 loans
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
