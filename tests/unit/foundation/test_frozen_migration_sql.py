"""Each migration that loads SQL reads a frozen copy beside it (`<app>/migrations/sql/`), so an
old migration never changes meaning when the live file changes (the django-hordak pattern);
the live file is the current definition and must equal its latest frozen copy — a change to it
comes with a new migration and a new copy."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

LIVE_TO_LATEST_COPY = [
    ("ledger/sql/ledger_integrity.sql", "ledger/migrations/sql/0005_ledger_integrity.sql"),
    ("partners/sql/quarantine_append_only.sql",
     "partners/migrations/sql/0004_quarantine_append_only.sql"),
    ("lending/sql/agreement_integrity.sql", "lending/migrations/sql/0002_agreement_integrity.sql"),
    ("lending/intake/sql/functions.sql", "lending/migrations/sql/0004_intake_functions.sql"),
    ("lending/sql/positions.sql", "lending/migrations/sql/0033_positions.sql"),
]


@pytest.mark.parametrize(("live", "frozen"), LIVE_TO_LATEST_COPY)
def test_the_live_sql_is_its_latest_frozen_copy(live, frozen):
    assert (ROOT / live).read_text() == (ROOT / frozen).read_text()


def test_no_migration_reads_a_live_sql_file():
    for migration in ROOT.glob("*/migrations/0*.py"):
        text = migration.read_text()
        if ".sql" in text:
            assert "parent.parent" not in text and (
                'parent / "sql"' in text), migration
