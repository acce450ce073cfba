"""Issue 21, acceptance 5: the audit trail records a raw-SQL change to an agreement and a
staff write-off with before and after; the auditor browses and exports it; it is append-only."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from controls.models import ChangeRequest
from lending.models import Break
from lending.reconciliation import services as recon
from tests.factories import lending as f
from tests.factories import reconciliation as rf
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

AUDIT = "admin:pghistory_middlewareevents_changelist"
EXPORT = "admin:controls_audit_export"


def _export(client, **params) -> list[dict]:
    resp = client.get(reverse(EXPORT), params)
    assert resp.status_code == 200, resp.status_code
    assert resp["Content-Type"].startswith("text/csv")
    text = b"".join(resp.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_raw_sql_and_a_staff_write_off_are_recorded_and_the_auditor_exports_them(as_user):
    version = f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    agreement = version.agreement
    with connection.cursor() as cur:  # behind the application's back
        cur.execute("UPDATE lending_agreement SET name = 'renamed by SQL' WHERE id = %s",
                    [agreement.pk])

    platform, program = rf.platform_with_program("BETA")
    rf.loans(program, ["L1"])
    day = date(2026, 6, 16)
    rf.balances_file(platform, day, [("L1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    recon.breaks_reconcile(partner_id=platform.pk, business_date=day)
    brk = Break.objects.order_by("pk").first()
    operator, approver = role_user("olga", "operator"), role_user("ann", "approver")
    as_user(operator).post(reverse("admin:lending_break_changelist"), {
        "action": "resolve_breaks", ACTION_CHECKBOX_NAME: [brk.pk], "apply": "1",
        "note": "rounding at the partner", "status": "WRITTEN_OFF"})
    as_user(approver).post(reverse("admin:controls_changerequest_changelist"), {
        "action": "approve_requests",
        ACTION_CHECKBOX_NAME: [ChangeRequest.objects.get(target_id=brk.pk).pk]})
    brk.refresh_from_db()
    assert brk.status == "WRITTEN_OFF"

    auditor = as_user(role_user("audrey", "auditor"))
    page = auditor.get(reverse(AUDIT))
    assert page.status_code == 200 and "Export CSV" in page.content.decode()
    rows = _export(auditor)

    sql = [r for r in rows if r["model"] == "controls.AuditAgreement" and r["event"] == "update"
           and r["object_id"] == str(agreement.pk)]
    assert len(sql) == 1, rows
    assert json.loads(sql[0]["before"]) == {"name": "AG-ALPHA agreement"}
    assert json.loads(sql[0]["after"]) == {"name": "renamed by SQL"}
    assert sql[0]["username"] == ""  # raw SQL: no application user, still recorded

    off = [r for r in rows if r["model"] == "controls.AuditBreak" and r["event"] == "update"
           and r["object_id"] == str(brk.pk) and "status" in json.loads(r["before"])]
    assert len(off) == 1, [r for r in rows if r["model"] == "controls.AuditBreak"]
    assert json.loads(off[0]["before"])["status"] == "OPEN"
    assert json.loads(off[0]["after"])["status"] == "WRITTEN_OFF"
    assert off[0]["username"] == "ann" and off[0]["url"].startswith("/admin/controls/")
    request_rows = {(r["event"], r["username"]) for r in rows
                    if r["model"] == "controls.ChangeRequest"}
    assert {("insert", "olga"), ("update", "ann")} <= request_rows  # maker and checker

    # a filter of the list applies to the export
    only_breaks = _export(auditor, event_model="controls.auditbreakevent")
    assert only_breaks and {r["model"] for r in only_breaks} == {"controls.AuditBreak"}

    # other roles neither browse nor export the trail
    for role in ("operator", "approver", "finance", "risk", "administrator"):
        client = as_user(role_user(f"x-{role}", role))
        assert client.get(reverse(AUDIT)).status_code == 403, role
        assert client.get(reverse(EXPORT)).status_code == 403, role


def test_the_trail_is_append_only():
    f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    for statement in ("UPDATE controls_auditagreementevent SET name = 'forged'",
                      "DELETE FROM controls_auditagreementevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM controls_auditagreementevent WHERE name = 'forged'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM controls_auditagreementevent")
        assert cur.fetchone()[0] == 1


def test_who_gave_whom_a_role_is_recorded(as_user):
    from django.contrib.auth.models import Group

    from tests.functional.controls.helpers import admin_form_data

    admin_user = role_user("ada", "administrator")
    bob = role_user("bob", "operator")
    auditor = as_user(role_user("audrey", "auditor"))  # before: a test is one transaction
    client = as_user(admin_user)
    url = reverse("admin:auth_user_change", args=[bob.pk])
    data = admin_form_data(client.get(url))
    data["groups"] = [str(g.pk) for g in Group.objects.filter(name__in=["operator", "approver"])]
    assert client.post(url, data).status_code == 302
    assert set(bob.groups.values_list("name", flat=True)) == {"operator", "approver"}

    rows = _export(auditor, event_model="controls.auditusergroupevent")
    added = [json.loads(r["row"]) for r in rows if r["event"] == "insert"
             and r["username"] == "ada"]
    approver = Group.objects.get(name="approver")
    assert {(a["user_id"], a["group_id"]) for a in added} == {(bob.pk, approver.pk)}
