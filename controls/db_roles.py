"""Database roles (issue 21, finding 5): the application connects as a role that is not a
superuser and owns no table; migrations run as the owner role.

`app_role_setup` creates (or re-grants) that role in the current database with only the
privileges the application needs:

- SELECT, INSERT, UPDATE, DELETE on the tables of the schema, never TRUNCATE, REFERENCES or
  TRIGGER, never ownership: so no ALTER TABLE, no DISABLE TRIGGER, no DROP, no CREATE in the
  schema, and no `SET session_replication_role` (a superuser's setting);
- append-only tables get SELECT and INSERT only: journal entries and lines, settlement
  payment releases, the audit trail's event tables;
- books and accounts: SELECT and INSERT (new memo books), and UPDATE of their name (and an
  account's active flag) only — never of an account's book, code or currency;
- periods: no DELETE; quarantined rows: no DELETE; django_migrations: SELECT only;
- sequences: USAGE and SELECT (nextval), and TEMPORARY on the database for the run's scratch
  tables.

Idempotent: `manage.py db_app_role` runs it again after every `migrate` (new tables get their
grants). Roles are cluster-wide, grants per database.
"""

from __future__ import annotations

import re

from django.db import DEFAULT_DB_ALIAS, connections

APP_ROLE = "lending_app"

APPEND_ONLY = ("ledger_journalentry", "ledger_journalline", "controls_paymentrelease")
READ_ONLY = ("django_migrations",)
NO_DELETE = ("ledger_period", "partners_quarantinedrow")
COLUMN_UPDATES = {"ledger_book": ("name",), "ledger_account": ("name", "is_active")}


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _event_tables() -> list[str]:
    """The audit trail's event tables (django-pghistory): append-only."""
    from django.apps import apps

    return sorted(m._meta.db_table for m in apps.get_models()
                  if m._meta.app_label == "controls" and m._meta.db_table.endswith("event"))


_ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")


def app_role_setup(*, role: str = APP_ROLE, password: str | None = None, login: bool = False,
                   using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create or re-grant the application role in the current database; returns the SQL run
    (for the command's output). Needs a user that may create roles and owns the tables.
    `login`: the role may log in (without a password: where the server trusts local
    connections, as the development and test servers do); `password` implies it."""
    r = _ident(role)
    statements: list[str] = []
    with connections[using].cursor() as cur:
        def run(sql: str, params=None) -> None:
            cur.execute(sql, params)
            statements.append(sql if params is None else sql.replace("%s", "'***'"))

        cur.execute("SELECT current_database()")
        db = _quoted(cur.fetchone()[0])
        # two test processes may create it at once: the loser's error is not one
        run(f"""DO $$ BEGIN
                   CREATE ROLE {r} NOLOGIN;
               EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
               END $$""")
        # ALTER ROLE only when something changes: roles are cluster-wide, and test processes
        # migrating their own databases at once would collide ("tuple concurrently updated")
        cur.execute(f"SELECT {', '.join(_ATTRIBUTES)}, rolinherit, rolcanlogin "
                    "FROM pg_roles WHERE rolname = %s", [role])
        *powers, inherit, can_login = cur.fetchone()
        if any(powers) or not inherit:
            run(f"ALTER ROLE {r} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS INHERIT")
        if password:
            run(f"ALTER ROLE {r} LOGIN PASSWORD %s", [password])
        elif login and not can_login:
            run(f"ALTER ROLE {r} LOGIN")
        run(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}")
        run(f"GRANT USAGE ON SCHEMA public TO {r}")
        run(f"REVOKE CREATE ON SCHEMA public FROM {r}")
        run(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}")
        run(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}")
        run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}")
        run(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}")
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        existing = {row[0] for row in cur.fetchall()}
        append_only = [t for t in (*APPEND_ONLY, *_event_tables()) if t in existing]
        for table in append_only:
            run(f"REVOKE UPDATE, DELETE ON {_ident(table)} FROM {r}")
        for table in READ_ONLY:
            if table in existing:
                run(f"REVOKE INSERT, UPDATE, DELETE ON {_ident(table)} FROM {r}")
        for table in NO_DELETE:
            if table in existing:
                run(f"REVOKE DELETE ON {_ident(table)} FROM {r}")
        for table, columns in COLUMN_UPDATES.items():
            if table in existing:
                run(f"REVOKE UPDATE, DELETE ON {_ident(table)} FROM {r}")
                run(f"GRANT UPDATE ({', '.join(_ident(c) for c in columns)}) "
                    f"ON {_ident(table)} TO {r}")
        cur.execute("SELECT to_regprocedure(%s) IS NOT NULL", [ANALYZE_FUNCTION])
        if cur.fetchone()[0]:  # controls migration 0008
            run(f"GRANT EXECUTE ON FUNCTION {ANALYZE_FUNCTION} TO {r}")
    return statements


ANALYZE_FUNCTION = "controls_analyze(text[])"


def analyze(cursor, *tables: str) -> None:
    """ANALYZE these permanent tables as their owner (the application role owns none: its own
    ANALYZE is skipped with a warning). Only the tables whitelisted by controls migration 0008;
    any other is refused (insufficient_privilege)."""
    cursor.execute("SELECT controls_analyze(%s::text[])", [list(tables)])
