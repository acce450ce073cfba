"""Issue 21: the application role owns no table, so its own ANALYZE of a staging table is
skipped with a WARNING; `controls_analyze` (controls migration 0008, SECURITY DEFINER) analyses
the whitelisted tables as their owner, without the warning, and refuses any other table."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from controls.db_roles import APP_ROLE, analyze

pytestmark = pytest.mark.django_db


def _notices(run) -> list[str]:
    raw = connection.connection  # psycopg's
    seen: list[str] = []

    def handler(diag):
        seen.append(f"{diag.severity}: {diag.message_primary}")

    raw.add_notice_handler(handler)
    try:
        with connection.cursor() as cur:
            run(cur)
    finally:
        raw.remove_notice_handler(handler)
    return seen


def test_the_app_role_analyses_the_staging_tables_through_the_function_without_warnings():
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == APP_ROLE  # the tests connect as the application role
    direct = _notices(lambda cur: cur.execute("ANALYZE lending_stagedloan"))
    assert any("only table or database owner can analyze it" in n for n in direct), direct

    assert _notices(lambda cur: analyze(cur, "lending_stagedloan", "lending_stagedrepayment",
                                        "lending_stagedreversal", "lending_runevent")) == []


@pytest.mark.parametrize("table", ["ledger_journalline", "auth_user", "lending_stagedloan; "
                                   "DROP TABLE auth_user", None])
def test_a_table_off_the_whitelist_is_refused(table):
    with pytest.raises(DatabaseError, match="is not a table the application may analyse"):
        with transaction.atomic(), connection.cursor() as cur:
            analyze(cur, table)


def test_the_function_is_the_owners_and_not_executable_by_everyone():
    with connection.cursor() as cur:
        cur.execute("SELECT p.prosecdef, pg_get_userbyid(p.proowner), "
                    "has_function_privilege('public', p.oid, 'EXECUTE'), "
                    "has_function_privilege(%s, p.oid, 'EXECUTE') "
                    "FROM pg_proc p WHERE p.oid = 'controls_analyze(text[])'::regprocedure",
                    [APP_ROLE])
        definer, owner, public, app = cur.fetchone()
    assert (definer, public, app) == (True, False, True)
    assert owner != APP_ROLE
