"""Back-office staff follow settlement runs and work reconciliation breaks in the admin."""

from __future__ import annotations

import sys
import types
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

import lending.settlement
from controls.models import ChangeRequest
from lending.models import (
    Break,
    Claim,
    Movement,
    RunChunk,
    SettlementRun,
    Statement,
    StatementLine,
)
from lending.reconciliation import services
from tests.factories import lending as f
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D = date(2026, 6, 16)


@pytest.fixture
def settled():
    """One run with chunks, a statement with lines, a movement, a claim and some breaks."""
    platform, program = rf.platform_with_program("ALPHA")
    loan = rf.loans(program, ["L1", "L2"])[0]
    run = SettlementRun.objects.create(
        partner=platform, business_date=D, state="FAILED", step="accrue", attempts=2,
        started_at=timezone.now(), error="Traceback ...\nValueError: chunk 3 exploded",
        totals={"collections": "1234.50", "loans": 2},
    )
    RunChunk.objects.create(run=run, step="accrue", seq=1, lo_id=1, hi_id=10,
                            done_at=timezone.now(), rows=10, ms=5)
    RunChunk.objects.create(run=run, step="accrue", seq=2, lo_id=11, hi_id=20)
    statement = Statement.objects.create(counterparty=platform, business_date=D, run=run,
                                         net_amount=Decimal("864.15"))
    StatementLine.objects.create(statement=statement, line_type="COLLECTIONS",
                                 amount=Decimal("864.15"), description="bank share collected")
    Movement.objects.create(business_date=D, run=run, loan=loan, program_id=program.pk,
                            funder=f.bank(), event="COLLECT", component="PRINCIPAL",
                            amount=Decimal("700.00"))
    Claim.objects.create(loan=loan, guarantor=f.partner("GUARD", kind="GUARANTOR"),
                         raised_on=D, principal=Decimal("1"), interest=Decimal("0"),
                         penalty=Decimal("0"), amount=Decimal("1"))
    rf.balances_file(platform, D, [("L1", "9990.00", "50.00", "0.00", 0, "ACTIVE"),
                                   ("L2", "10000.00", "50.00", "0.00", 2, "ACTIVE")])
    services.breaks_reconcile(partner_id=platform.pk, business_date=D)
    return run


def test_pages_open_and_are_read_only(staff_client, settled):
    for name in ["settlementrun", "statement", "movement", "claim", "break"]:
        resp = staff_client.get(reverse(f"admin:lending_{name}_changelist"))
        assert resp.status_code == 200, name
    assert staff_client.get(reverse("admin:lending_movement_changelist"),
                            {"q": "L1"}).status_code == 200
    for name in ["settlementrun", "statement", "movement", "claim", "break"]:
        assert staff_client.get(reverse(f"admin:lending_{name}_add")).status_code == 403
    statement = Statement.objects.get()
    body = staff_client.get(reverse("admin:lending_statement_change", args=[statement.pk])
                            ).content.decode()
    assert "bank share collected" in body and 'name="_save"' not in body


def test_run_list_shows_progress_and_error_and_detail_shows_chunks_and_totals(
    staff_client, settled
):
    body = staff_client.get(reverse("admin:lending_settlementrun_changelist")).content.decode()
    assert "1/2" in body and "ValueError: chunk 3 exploded" in body
    body = staff_client.get(reverse("admin:lending_settlementrun_change", args=[settled.pk])
                            ).content.decode()
    assert "&quot;collections&quot;: &quot;1234.50&quot;" in body and "<pre>" in body
    assert body.count("accrue") >= 3  # the step and both chunks inline


def _runner(monkeypatch, fn):
    try:
        from lending.settlement import runner
    except ImportError:  # the runner is written in parallel: stand in for the module
        runner = types.ModuleType("lending.settlement.runner")
        monkeypatch.setitem(sys.modules, "lending.settlement.runner", runner)
        monkeypatch.setattr(lending.settlement, "runner", runner, raising=False)
    monkeypatch.setattr(runner, "settlement_run_rerun", fn, raising=False)


def test_rerun_action_calls_the_runner_per_run(staff_client, settled, monkeypatch):
    calls = []
    _runner(monkeypatch, lambda *, run: calls.append(run.pk))
    resp = staff_client.post(reverse("admin:lending_settlementrun_changelist"),
                             {"action": "rerun_runs", ACTION_CHECKBOX_NAME: [settled.pk]},
                             follow=True)
    assert resp.status_code == 200 and calls == [settled.pk]
    assert "rerun started" in resp.content.decode()


def test_rerun_failure_is_reported(staff_client, settled, monkeypatch):
    def boom(*, run):
        raise RuntimeError("run is locked")

    _runner(monkeypatch, boom)
    resp = staff_client.post(reverse("admin:lending_settlementrun_changelist"),
                             {"action": "rerun_runs", ACTION_CHECKBOX_NAME: [settled.pk]},
                             follow=True)
    assert "run is locked" in resp.content.decode()


def test_break_list_filters(staff_client, settled):
    url = reverse("admin:lending_break_changelist")
    body = staff_client.get(url, {"kind__exact": "DPD_MISMATCH"}).content.decode()
    assert "L2" in body and "9990.00" not in body
    assert staff_client.get(url, {"status__exact": "OPEN", "partner__id__exact":
                                  settled.partner_id}).status_code == 200


def test_assign_to_me_and_resolve_with_a_note(staff_client, staff_user, settled,
                                              django_user_model):
    url = reverse("admin:lending_break_changelist")
    ids = list(Break.objects.values_list("pk", flat=True))
    staff_client.post(url, {"action": "assign_to_me", ACTION_CHECKBOX_NAME: ids})
    assert set(Break.objects.values_list("owner", flat=True)) == {staff_user.pk}

    form = staff_client.post(url, {"action": "resolve_breaks", ACTION_CHECKBOX_NAME: ids})
    assert form.status_code == 200 and 'name="note"' in form.content.decode()
    assert set(Break.objects.values_list("status", flat=True)) == {"OPEN"}
    # an empty note is refused and changes nothing
    staff_client.post(url, {"action": "resolve_breaks", ACTION_CHECKBOX_NAME: ids,
                            "apply": "1", "note": " ", "status": "RESOLVED"})
    assert set(Break.objects.values_list("status", flat=True)) == {"OPEN"}
    staff_client.post(url, {"action": "resolve_breaks", ACTION_CHECKBOX_NAME: ids[:1],
                            "apply": "1", "note": "partner confirmed the figure",
                            "status": "WRITTEN_OFF"})
    # a write-off is a four-eyes request (issue 21): it takes effect when an approver approves
    assert Break.objects.get(pk=ids[0]).status == "OPEN"
    approver = django_user_model.objects.create_superuser("approver2", "a@example.test", "x")
    staff_client.force_login(approver)
    staff_client.post(reverse("admin:controls_changerequest_changelist"), {
        "action": "approve_requests",
        ACTION_CHECKBOX_NAME: ChangeRequest.objects.values_list("pk", flat=True)})
    b = Break.objects.get(pk=ids[0])
    assert (b.status, b.resolution_note.split(" (write-off request")[0], b.resolved_by_id) == \
        ("WRITTEN_OFF", "partner confirmed the figure", staff_user.pk)
    assert Break.objects.count() == len(ids)  # nothing deleted
    resp = staff_client.get(reverse("admin:lending_break_delete", args=[ids[0]]))
    assert resp.status_code == 403
