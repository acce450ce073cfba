"""Issue 21, the audit trail's coverage: every change to partners, users, roles, programs,
agreements, limits, calendar, statements, breaks and quarantine, and every staff action on money,
is recorded by database triggers (django-pghistory, controls.models), so raw SQL is recorded
too. The raw-SQL agreement change and the staff write-off in the auditor's export:
tests/functional/controls/test_audit_trail.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from pghistory.models import MiddlewareEvents

from controls import roles
from controls.audit import SNAPSHOT, audit_baseline
from controls.db_backend.base import owner_connection
from ledger.domain import chart
from ledger.models import Account
from ledger.services import chart_of_accounts_load
from lending.reconciliation.models import ReconciliationTolerance
from tests.factories import lending as f

pytestmark = pytest.mark.django_db

# What the issue names, table by table (the event a trigger writes is the row after an insert
# or an update, and before a delete).
NAMED = {
    "users and roles": ["auth_user", "auth_group", "auth_user_groups", "auth_group_permissions",
                        "auth_user_user_permissions"],
    "partners": ["partners_partner", "partners_partneruser", "partners_partnerapikey"],
    "calendar": ["partners_calendarday"],
    "programs and agreements": ["lending_program", "lending_agreement",
                                "lending_agreementversion", "lending_agreementfunder"],
    "limits": ["controls_limitthreshold", "controls_limitbankfigure",
               "controls_limitrelatedpartygroup", "controls_limitrelatedparty",
               "lending_reconciliationtolerance"],
    "statements and settlement payments": ["lending_statement", "lending_statementpayment",
                                           "controls_paymentrelease"],
    "breaks": ["lending_break"],
    "quarantine": ["partners_quarantinedrow", "lending_quarantinecorrection"],
    # four-eyes requests: program changes, write-offs, manual journals, releases, corrections
    "staff actions on money": ["controls_changerequest", "ledger_book", "ledger_account",
                               "ledger_period"],
}
# Models a role may change that are not audited, and why.
NOT_AUDITED = {
    # the nightly schedule (operator): beat itself updates these rows at every tick
    "django_celery_beat",
}


def _audit_triggers(table: str) -> set[str]:
    """The pghistory triggers on `table` that are enabled: insert, update, delete."""
    with connection.cursor() as cur:
        cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                    "AND NOT tgisinternal AND tgenabled <> 'D'", [table])
        names = [row[0] for row in cur.fetchall()]
    return {op for op in ("insert", "update", "delete")
            if any(n.startswith(f"pgtrigger_{op}_{op}_") for n in names)}


@pytest.mark.parametrize("table", sorted(t for tables in NAMED.values() for t in tables))
def test_every_table_the_issue_names_is_recorded_by_triggers(table):
    assert _audit_triggers(table) == {"insert", "update", "delete"}


def test_every_model_a_role_may_change_is_recorded():
    """A model any role may add, change or delete is audited: a new editable model without a
    tracker (controls.models) fails here."""
    roles.roles_sync()
    editable = (Permission.objects.filter(group__name__in=roles.ROLES)
                .filter(codename__regex=r"^(add|change|delete)_")
                .select_related("content_type").distinct())
    missing = []
    for perm in editable:
        ct = perm.content_type
        if ct.app_label in NOT_AUDITED or (ct.app_label, ct.model) == ("controls", "control"):
            continue
        model = apps.get_model(ct.app_label, ct.model)
        table = model._meta.db_table
        if _audit_triggers(table) != {"insert", "update", "delete"}:
            missing.append(f"{perm.codename} ({table})")
    assert missing == []
    assert Group.objects.filter(name__in=roles.ROLES).count() == len(roles.ROLES)


def _events(model: str, obj_id) -> list[MiddlewareEvents]:
    return list(MiddlewareEvents.objects.filter(pgh_obj_model=model, pgh_obj_id=str(obj_id))
                .order_by("pgh_created_at", "pgh_id"))


def test_raw_sql_changes_to_the_tolerance_an_account_and_a_users_permissions_are_recorded():
    version = f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    program = f.program(code="CASH", version=version)
    tolerance = ReconciliationTolerance.objects.create(program=program,
                                                       amount_tolerance=Decimal("0.01"))
    chart_of_accounts_load()
    account = Account.objects.get(book__code=chart.BANK_GL, code=chart.ROUNDING)
    user = f.user("perm-holder")
    perm = Permission.objects.get(codename="view_break")
    with connection.cursor() as cur:  # behind the application's back
        cur.execute("UPDATE lending_reconciliationtolerance SET amount_tolerance = 0.50 "
                    "WHERE id = %s", [tolerance.pk])
        cur.execute("UPDATE ledger_account SET name = 'renamed by SQL' WHERE id = %s",
                    [account.pk])
        cur.execute("INSERT INTO auth_user_user_permissions (user_id, permission_id) "
                    "VALUES (%s, %s) RETURNING id", [user.pk, perm.pk])
        link_id = cur.fetchone()[0]

    changed = [e for e in _events("controls.AuditReconciliationTolerance", tolerance.pk)
               if e.pgh_label == "update"]
    assert len(changed) == 1
    assert [[Decimal(str(v)) for v in pair] for pair in changed[0].pgh_diff.values()] == [
        [Decimal("0.01"), Decimal("0.50")]] and list(changed[0].pgh_diff) == ["amount_tolerance"]
    renamed = [e for e in _events("controls.AuditAccount", account.pk) if e.pgh_label == "update"]
    assert len(renamed) == 1 and renamed[0].pgh_diff["name"][1] == "renamed by SQL"
    granted = _events("controls.AuditUserPermission", link_id)
    assert [(e.pgh_label, e.pgh_data["user_id"], e.pgh_data["permission_id"])
            for e in granted] == [("insert", user.pk, perm.pk)]
    assert granted[0].user is None  # raw SQL: no application user, still recorded


def test_a_row_from_before_its_table_was_tracked_gets_a_snapshot_so_its_change_has_a_before():
    """controls migration 0013 records the rows its newly tracked tables held (a book made
    before the tracker, here with the triggers off as only the owner may) once as `snapshot`;
    the first change after that has its before. In the owner's transaction, rolled back."""
    owner = owner_connection(connection)
    try:
        owner.ensure_connection()
        owner.set_autocommit(False)
        with owner.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # as before tracking
            cur.execute("INSERT INTO ledger_book (code, name, kind, created_at) "
                        "VALUES ('OLD-MEMO', 'old memo book', 'MEMO', now()) RETURNING id")
            book_id = cur.fetchone()[0]
            cur.execute("SET LOCAL session_replication_role = origin")
            columns = ["id", "code", "name", "kind", "created_at"]
            baseline = {"event_table": "controls_auditbookevent",
                        "source_table": "ledger_book", "columns": columns}
            assert audit_baseline(cur.cursor, **baseline) == 1
            assert audit_baseline(cur.cursor, **baseline) == 0  # once
            cur.execute("UPDATE ledger_book SET name = 'renamed' WHERE id = %s", [book_id])
            cur.execute("SELECT pgh_label, name FROM controls_auditbookevent "
                        "WHERE pgh_obj_id = %s ORDER BY pgh_id", [book_id])
            # the trail's before and after are consecutive events of the row
            assert cur.fetchall() == [(SNAPSHOT, "old memo book"), ("update", "renamed")]
        owner.rollback()
    finally:
        owner.close()
