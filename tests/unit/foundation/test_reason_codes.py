"""Reason codes are defined once (issue 23): partners.models.ReasonCode, the contract's list
(FILE_FORMATS.md). The intake's SQL checks and the pure domain (which may not import a model)
still spell codes as literals; each must be one of ReasonCode's, so none can drift."""

from __future__ import annotations

import re
from pathlib import Path

from lending.domain import rules
from lending.domain.loan_state import CLOSED_STATES, NO_PAYMENT_STATES, OPEN_STATES, LoanStatus
from lending.models import LoanState
from partners.models import ReasonCode

ROOT = Path(__file__).resolve().parents[3]
# err("CODE", ...) in the SQL check DSL; rejects.append((txn, "CODE", ...)) in the loan day
LITERAL = re.compile(r"""\berr\(\s*"([A-Z_]+)"|rejects\.append\(\(\s*[\w.]+,\s*"([A-Z_]+)\"""")


def _literal_codes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "lending").rglob("*.py"):
        for m in LITERAL.finditer(path.read_text()):
            found.setdefault(m.group(1) or m.group(2), set()).add(
                path.relative_to(ROOT).as_posix())
    return found


def test_every_reason_code_spelled_as_a_literal_is_a_contract_code():
    found = _literal_codes()
    # the scan sees the intake checks and the loan day (a regex that matched nothing would pass)
    assert {"UNKNOWN_LOAN", "LOAN_CLOSED", "NOT_REVERSIBLE", "DUPLICATE", "BAD_DATE"} <= set(found)
    assert {code: files for code, files in found.items() if code not in ReasonCode.values} == {}
    assert rules.RATIO_RULE_REASON in ReasonCode.values


def test_the_loan_state_sets_are_the_domains_and_the_models_states_are_its_states():
    assert set(LoanState.values) == {s.value for s in LoanStatus}
    assert set(OPEN_STATES) | set(CLOSED_STATES) == set(LoanStatus)
    assert not set(OPEN_STATES) & set(CLOSED_STATES)
    assert set(NO_PAYMENT_STATES) < set(CLOSED_STATES)
