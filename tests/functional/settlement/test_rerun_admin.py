"""The admin's rerun of a run that an orchestrator is settling right now is refused at once,
saying so (the run page shows that settlement's progress); nothing is sent to the workers."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connections
from django.urls import reverse

from config import locks
from lending.settlement.models import RunState, SettlementRun
from tests.factories import lending as f

pytestmark = pytest.mark.django_db


def test_rerun_of_a_run_being_settled_is_refused(staff_client):
    run = SettlementRun.objects.create(partner=f.partner("ALPHA"),
                                       business_date=date(2026, 3, 2), state=RunState.RUNNING,
                                       step="APPLY")
    other = connections.create_connection("default")  # the orchestrator's session
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                        [locks.SETTLEMENT_RUN.text(run.partner_id, run.business_date)])
        resp = staff_client.post(reverse("admin:lending_settlementrun_changelist"),
                                 {"action": "rerun_runs", ACTION_CHECKBOX_NAME: [run.pk]},
                                 follow=True)
    finally:
        other.close()
    body = resp.content.decode()
    assert "is already running: its progress is on the run page" in body
    assert "rerun started" not in body
    run.refresh_from_db()
    assert (run.state, run.step, run.attempts) == (RunState.RUNNING, "APPLY", 0)


def test_the_run_page_shows_progress_and_re_dispatches_and_reloads_while_running(staff_client):
    from django.utils import timezone

    from lending.settlement.models import RunChunk

    run = SettlementRun.objects.create(partner=f.partner("ALPHA"),
                                       business_date=date(2026, 3, 2), state=RunState.RUNNING,
                                       step="APPLY")
    RunChunk.objects.create(run=run, step="BOOK", seq=0, lo_id=1, hi_id=9,
                            done_at=timezone.now(), dispatches=1)
    for seq, done, sent in ((0, True, 1), (1, False, 2), (2, False, 1)):
        RunChunk.objects.create(run=run, step="APPLY", seq=seq, lo_id=seq * 10,
                                hi_id=seq * 10 + 9, done_at=timezone.now() if done else None,
                                dispatched_at=timezone.now(), dispatches=sent)
    url = reverse("admin:lending_settlementrun_change", args=[run.pk])
    resp = staff_client.get(url)
    body = resp.content.decode()
    assert "BOOK 1/1 chunks done · APPLY 1/3 chunks done; re-dispatched: #1 (2×)" in body
    assert "now: APPLY" in body and resp["Refresh"] == "5"
    run.state = RunState.DONE
    run.save()
    assert "Refresh" not in staff_client.get(url)
