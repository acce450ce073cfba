"""Ledger helpers for test suites (never called by the application: it lives under tests/)."""

from __future__ import annotations

from django.db import connections

from controls.db_backend.base import owner_connection


def ledger_purge(using: str = "default") -> None:
    """Empty the ledger's entries, lines and periods with the deliberate TRUNCATE switch.

    The ledger refuses TRUNCATE while it holds rows, and Django's flush after a
    ``transaction=True`` test truncates every table: call this first (e.g. from a fixture that
    depends on ``transactional_db``) in any test that commits ledger rows.

    The application's role may not TRUNCATE (issue 21): this runs on a separate connection
    logged in as the owner (controls.db_backend), so it sees committed rows only."""
    owner = owner_connection(connections[using])
    try:
        owner.ensure_connection()
        owner.set_autocommit(False)
        with owner.cursor() as cursor:
            cursor.execute("SET LOCAL ledger.allow_truncate = 'on'")
            cursor.execute("TRUNCATE ledger_journalline, ledger_journalentry, ledger_period")
        owner.commit()
    finally:
        owner.close()
