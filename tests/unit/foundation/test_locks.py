"""One lock module (issue 23): every advisory lock of the product is a named lock of
config.locks with one key scheme; no module takes one by its own key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import locks

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("config", "partners", "ledger", "lending", "controls", "reports")
# Where pg_advisory_* may appear: the lock module, and the ledger's entry trigger, which takes
# ledger.period shared in SQL with the module's key expression (and the frozen migration copies
# of that SQL).
ALLOWED = {"config/locks.py", "ledger/sql/ledger_integrity.sql",
           "ledger/migrations/sql/0005_ledger_integrity.sql"}


def _takers() -> set[str]:
    found = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".sql") and re.search(r"pg_(try_)?advisory",
                                                             path.read_text()):
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_no_module_takes_an_advisory_lock_by_its_own_key():
    assert _takers() - ALLOWED == set()


def test_the_ledger_trigger_takes_ledger_period_by_the_modules_scheme():
    trigger = (ROOT / "ledger/sql/ledger_integrity.sql").read_text()
    assert ("pg_advisory_xact_lock_shared(hashtextextended('"
            + locks.LEDGER_PERIOD.text("") + "' || NEW.book_id, 0))") in trigger


def test_each_lock_has_its_own_name_and_takes_exactly_its_parts():
    names = [lock.name for lock in locks.REGISTRY]
    assert len(set(names)) == len(names)
    assert {v for k, v in vars(locks).items() if isinstance(v, locks.Lock)} == set(
        locks.REGISTRY)
    assert locks.SETTLEMENT_RUN.text(7, "2026-03-02") == "settlement.run:7:2026-03-02"
    assert locks.REPORTS_PORTFOLIO_DAYS.text() == "reports.portfolio_days"
    with pytest.raises(TypeError, match="settlement.apply_chunk takes run_id, seq"):
        locks.SETTLEMENT_APPLY_CHUNK.text(7)
