"""The admin's rerun of a run that an orchestrator is settling right now is refused at once,
saying so (the run page shows that settlement's progress); nothing is sent to the workers."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connections
from django.urls import reverse

from lending.settlement import runner
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
            cur.execute("SELECT pg_advisory_lock(%s, %s)",
                        [runner.LOCK_NAMESPACE, runner._lock_key(run.partner_id,
                                                                 run.business_date)])
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
