"""Issue 21, finding 5 (acceptance 6): the application connects as its own role, and each
raw-SQL attack is refused to it — and the application itself still works as that role.

The tests' own connection is the application's (`default`): it logs in as `lending_app`
(config/settings.py, controls.db_backend), set up by `migrate` when the test database was
created. Since that is the login, no statement can bring the owner back (`SET ROLE`,
`SET SESSION AUTHORIZATION`, `RESET …` are refused or stay the role). What needs the owner
uses a separate owner connection (controls.db_backend.base.owner_connection).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction

from controls.db_backend.base import owner_connection
from controls.db_roles import APP_ROLE
from ledger.models import Account, JournalEntry, JournalLine
from ledger.services import period_close
from tests.factories import browser as fb
from tests.support.ledger import ledger_purge

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 15)


def _sql(*statements, params=None):
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql, params)


def _one(sql, cur=None):
    if cur is None:
        with connection.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    cur.execute(sql)
    return cur.fetchone()


@pytest.fixture
def posted(db):
    """A settled day: journal entries and lines, accounts, periods, audit events exist."""
    fb.settled_day(DAY)
    counts = (JournalEntry.objects.count(), JournalLine.objects.count())
    assert counts[0] > 0 and counts[1] > 0
    return counts


def _refused(*statements):
    """The statements, in a savepoint, fail with insufficient privilege (SQLSTATE 42501)."""
    with pytest.raises(ProgrammingError) as info, transaction.atomic():
        _sql(*statements)
    assert getattr(info.value.__cause__, "sqlstate", None) == "42501", info.value
    return str(info.value)


ATTACKS = {
    # finding 5 as reported
    "session_replication_role": ["SET session_replication_role = replica"],
    "truncate_lines_with_the_switch": ["SET LOCAL ledger.allow_truncate = 'on'",
                                       "TRUNCATE ledger_journalline"],
    "truncate_entries_with_the_switch": ["SET LOCAL ledger.allow_truncate = 'on'",
                                         "TRUNCATE ledger_journalentry CASCADE"],
    "truncate_accounts": ["TRUNCATE ledger_account CASCADE"],
    "update_account_book": ["UPDATE ledger_account SET book_id = (SELECT max(id) FROM "
                            "ledger_book)"],
    "update_account_code": ["UPDATE ledger_account SET code = code || 'X'"],
    # posted rows
    "update_journal_line": ["UPDATE ledger_journalline SET debit = debit + 1"],
    "delete_journal_line": ["DELETE FROM ledger_journalline"],
    "update_journal_entry": ["UPDATE ledger_journalentry SET business_date = '2026-01-01'"],
    "delete_journal_entry": ["DELETE FROM ledger_journalentry"],
    # triggers and the schema
    "disable_all_triggers": ["ALTER TABLE ledger_journalline DISABLE TRIGGER ALL"],
    "disable_one_trigger": ["ALTER TABLE ledger_journalentry DISABLE TRIGGER "
                            "ledger_entry_before_insert"],
    "drop_trigger": ["DROP TRIGGER ledger_lines_after_insert ON ledger_journalline"],
    "replace_trigger_function": ["CREATE OR REPLACE FUNCTION ledger_entry_before_insert() "
                                 "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; "
                                 "END $$"],
    "alter_table": ["ALTER TABLE ledger_journalline ADD COLUMN note text"],
    "drop_table": ["DROP TABLE ledger_period CASCADE"],
    "create_table": ["CREATE TABLE public.shadow_ledger (id int)"],
    # the audit trail
    "update_audit_event": ["UPDATE controls_auditagreementevent SET pgh_label = 'x'"],
    "delete_audit_event": ["DELETE FROM controls_auditpartnerevent"],
    "truncate_audit_events": ["TRUNCATE controls_auditbreakevent"],
    # escalation
    "become_superuser": ["SET ROLE postgres"],
    "become_the_owner_by_session": ["SET SESSION AUTHORIZATION postgres"],
    "grant_itself_superuser": [f"ALTER ROLE {APP_ROLE} SUPERUSER"],
    "forge_migrations": ["DELETE FROM django_migrations"],
}


def test_the_application_logs_in_as_the_app_role():
    """The test suite, as the application, is connected as lending_app — not as the owner
    that created and migrated the test database."""
    assert _one("SELECT current_user, session_user") == (APP_ROLE, APP_ROLE)
    assert connection.settings_dict["USER"] == APP_ROLE
    assert connection.settings_dict["OWNER"]["USER"] != APP_ROLE


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_raw_sql_attack_is_refused_to_the_app_role(posted, name):
    _refused(*ATTACKS[name])
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == posted
    assert not JournalLine.objects.filter(debit__gt=0, credit__gt=0).exists()
    assert _one("SELECT current_user, session_user") == (APP_ROLE, APP_ROLE)


def test_resetting_the_role_or_session_keeps_the_app_role():
    """RESET ROLE / RESET SESSION AUTHORIZATION are accepted and change nothing: the role is
    the login, there is no owner underneath to return to."""
    _sql("RESET ROLE", "RESET SESSION AUTHORIZATION", "SET ROLE NONE")
    assert _one("SELECT current_user, session_user") == (APP_ROLE, APP_ROLE)
    _refused("SET session_replication_role = replica")


@pytest.mark.django_db(transaction=True)
def test_the_same_attacks_succeed_for_the_owner_so_the_test_can_fail():
    """On an owner connection (a superuser here) the first attacks of finding 5 go through:
    the refusals above come from the role, not from the statements. The day is committed so
    that the owner's separate connection sees it."""
    fb.settled_day(DAY)
    lines = JournalLine.objects.count()
    assert lines > 0
    owner = owner_connection(connection)
    try:
        owner.ensure_connection()
        owner.set_autocommit(False)
        with owner.cursor() as cur:
            assert _one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
                        cur) == (True,)
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("UPDATE ledger_account SET book_id = book_id")
            cur.execute("SET LOCAL ledger.allow_truncate = 'on'")
            cur.execute("TRUNCATE ledger_journalline")
            assert _one("SELECT count(*) FROM ledger_journalline", cur) == (0,)
        owner.rollback()
    finally:
        owner.close()
    assert JournalLine.objects.count() == lines
    ledger_purge()


def test_the_app_role_is_no_superuser_and_owns_no_table():
    with connection.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
                    "FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (APP_ROLE, False, False, False, False)
        cur.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [APP_ROLE])
        assert cur.fetchone() == (0,)


def test_the_application_runs_a_settlement_day_as_the_app_role():
    """Import, book, post, statements, checks — the whole day — and the month-end close,
    with only the role's privileges."""
    run = fb.settled_day(DAY)
    assert run.state == "DONE"
    assert _one("SELECT current_user, session_user") == (APP_ROLE, APP_ROLE)
    assert JournalLine.objects.exists()
    Account.objects.filter(book__code="BANK_GL").update(name="renamed")  # allowed: the name
    closed = period_close(book="BANK_GL", period=DAY, closed_by="finance")
    assert closed.status == "CLOSED"
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_the_command_sets_the_role_up_again_as_the_owner(capsys):
    call_command("db_app_role")
    call_command("db_app_role")  # idempotent
    out = capsys.readouterr().out
    assert f"role {APP_ROLE}:" in out and "GRANT SELECT, INSERT, UPDATE, DELETE" in out
    # the application's connection is the role's again afterwards
    assert _one("SELECT current_user") == (APP_ROLE,)


def test_the_command_cannot_switch_to_the_owner_inside_a_transaction():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        call_command("db_app_role")
