"""Statuses, states, reason codes and event kinds enter SQL from their enums (issue 23):
config.sql_literals.lit renders them, and no SQL string in the packages that build SQL spells
an enum value as a hand-written quoted literal ('ACTIVE', 'STAGED', ...)."""

from __future__ import annotations

import enum
import io
import re
import tokenize
from pathlib import Path

import pytest
from django.db import models

import lending.domain  # noqa: F401  (the domain's StrEnums, below)
from config.sql_literals import lit
from lending.domain import aging, claim, daycount, loan_state, schedule, split, waterfall
from lending.models import LoanState, VersionStatus
from lending.settlement.models import RunState

ROOT = Path(__file__).resolve().parents[3]
# The packages (folders, every .py below) and the modules (one .py) that build SQL.
PACKAGES = ("lending/settlement", "lending/reconciliation", "lending/intake", "ledger",
            "reports/selectors", "lending/selectors.py")
# A string token is SQL when it has one of these words; a quoted upper-case word in it that is
# an enum's value is a hand-written status literal.
SQL_WORD = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE|WHERE|FROM|JOIN|VALUES|CASE|SET)\b")
QUOTED = re.compile(r"'([A-Z][A-Z0-9_]+)'")


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _enum_values() -> set[str]:
    assert aging and claim and daycount and loan_state and schedule and split and waterfall
    members = set()
    for cls in _subclasses(models.TextChoices) | _subclasses(enum.StrEnum):
        members |= {str(m.value) for m in cls}
    return {v for v in members if re.fullmatch(r"[A-Z][A-Z0-9_]+", v)}


def _hand_written(values: set[str]) -> set[tuple[str, int, str]]:
    found = set()
    for package in PACKAGES:
        base = ROOT / package
        for path in [base] if base.is_file() else base.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            for tok in tokenize.generate_tokens(io.StringIO(source).readline):
                if tok.type != tokenize.STRING or not SQL_WORD.search(tok.string):
                    continue
                for value in QUOTED.findall(tok.string):
                    if value in values:
                        found.add((path.relative_to(ROOT).as_posix(), tok.start[0], value))
    return found


def test_the_enums_are_seen():
    values = _enum_values()
    # models' TextChoices, the domain's StrEnums (a scan that knew no value would pass)
    assert {"ACTIVE", "OVERDUE", "STAGED", "QUARANTINED", "OPEN", "DONE", "COLLECT", "BANK",
            "AMOUNT_MISMATCH", "RAISED", "DAILY"} <= values


def test_no_status_literal_is_written_into_sql_by_hand():
    found = _hand_written(_enum_values())
    assert found == set(), "render these with config.sql_literals.lit(Enum.MEMBER)"


def test_every_scanned_path_holds_python():
    # a path renamed away would scan nothing and pass
    for package in PACKAGES:
        base = ROOT / package
        assert base.suffix == ".py" if base.is_file() else any(base.rglob("*.py")), package


def test_the_scan_finds_a_hand_written_literal(tmp_path, monkeypatch):
    bad = tmp_path / "lending" / "settlement"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text('Q = "SELECT 1 FROM lending_loan WHERE state = \'OVERDUE\'"\n'
                              'OK = f"UPDATE t SET s = {lit(X)} WHERE k = \'not_enum\'"\n')
    (tmp_path / "lending" / "selectors.py").write_text(
        'Q = "SELECT count(*) FROM lending_loan WHERE state = \'ACTIVE\'"\n')
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    monkeypatch.setattr(f"{__name__}.PACKAGES", ("lending/settlement", "lending/selectors.py"))
    assert _hand_written({"OVERDUE", "ACTIVE"}) == {("lending/settlement/x.py", 1, "OVERDUE"),
                                                     ("lending/selectors.py", 1, "ACTIVE")}


def test_lit_renders_enum_members_as_quoted_sql_literals():
    assert lit(RunState.DONE) == "'DONE'"
    assert lit(LoanState.ACTIVE, LoanState.OVERDUE) == "'ACTIVE', 'OVERDUE'"
    assert lit(VersionStatus.RETIRED, "O'BRIEN") == "'RETIRED', 'O''BRIEN'"
    with pytest.raises(ValueError):
        lit()
