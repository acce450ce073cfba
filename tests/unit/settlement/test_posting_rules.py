"""The posting table (lending.settlement.posting_rules): every event the sub-ledger knows x every
component a movement carries x every funder kind has exactly one rule, the statement-line
tables the reports read are the ones statements were built with, and the printed table is the
one in docs/. No database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from lending.models import Component
from lending.settlement import posting, posting_rules
from lending.settlement.models import MovementEvent
from lending.settlement.posting_rules import (
    COMPONENTS,
    FunderKind,
    Outcome,
    PostingRuleError,
    rule_for,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "posting_rules.md"


def rules_matching(event: str, component: str, funder: FunderKind) -> list:
    return [r for r in posting_rules.RULES
            if r.event == event and component in r.components and funder in r.funders]


def uncovered(events) -> dict:
    """(event, component, funder kind) → number of rules, wherever that is not exactly one."""
    out = {}
    for event in events:
        for component in COMPONENTS:
            for funder in FunderKind:
                n = len(rules_matching(event, component, funder))
                if n != 1:
                    out[(event, component, funder)] = n
    return out


def test_every_event_component_funder_kind_has_exactly_one_rule():
    assert uncovered([e.value for e in MovementEvent]) == {}


def test_a_new_event_is_uncovered_until_it_gets_rules():
    missing = uncovered(["NEW_EVENT"])
    assert len(missing) == len(COMPONENTS) * len(FunderKind)
    assert set(missing.values()) == {0}


def test_components_are_the_loans_and_the_cash_beyond_them():
    assert set(COMPONENTS) == {c.value for c in Component} | {"OVERPAYMENT"}


def test_rules_name_only_known_events_components_and_funders():
    events = {e.value for e in MovementEvent}
    for rule in posting_rules.RULES:
        assert rule.event in events
        assert set(rule.components) <= set(COMPONENTS)
        assert set(rule.funders) <= set(FunderKind)


def test_every_event_is_posted_or_left_to_the_accrual_delta_somewhere():
    for event in MovementEvent:
        outcomes = {r.outcome for r in posting_rules.RULES if r.event == event.value}
        assert outcomes - {Outcome.NOT_EMITTED}, event


def test_posting_accounts_are_in_the_books_they_post_to():
    from ledger.domain import chart
    gl = {a.code for a in chart.BANK_GL_ACCOUNTS}
    memo = {a.code for a in chart.MEMO_ACCOUNTS}
    for rule in posting_rules.RULES:
        if rule.gl:
            assert {rule.gl.debit, rule.gl.credit} <= gl, rule
        if rule.memo:
            assert {rule.memo.debit, rule.memo.credit} <= memo, rule


def test_lookup_refuses_what_the_engine_never_emits_and_unknown_events():
    assert rule_for("COLLECT", "INTEREST", FunderKind.BANK).gl.credit == "1132"
    assert rule_for("WRITE_OFF", "INTEREST", FunderKind.PLATFORM).outcome == \
        Outcome.ACCRUAL_DELTA
    with pytest.raises(PostingRuleError, match="never emitted"):
        rule_for("COLLECT", "PRINCIPAL", FunderKind.GUARANTOR)
    with pytest.raises(PostingRuleError, match="no posting rule"):
        rule_for("NEW_EVENT", "PRINCIPAL", FunderKind.BANK)


def test_funder_kind_is_the_funders_part_in_the_program():
    assert posting_rules.funder_kind(1, "BANK", 3) == FunderKind.BANK
    assert posting_rules.funder_kind(3, "GUARANTOR", 3) == FunderKind.GUARANTOR
    assert posting_rules.funder_kind(2, "PLATFORM", 3) == FunderKind.PLATFORM
    assert posting_rules.funder_kind(4, "CO_FUNDER", None) == FunderKind.PLATFORM


def test_statement_line_tables_the_reports_read_are_unchanged():
    """reports.selectors maps a statement line back to its movements through these."""
    assert posting._PLATFORM_LINES == {
        (True, "COLLECT"): ("COLLECTION_", 1), (True, "OVERPAY"): ("OVERPAYMENT", 1),
        (True, "WO_RECOVERY"): ("WRITE_OFF_RECOVERY", 1),
        (False, "RECOVERY"): ("CLAIM_RECOVERY", 1),
        (True, "DISBURSE"): ("DISBURSEMENT", -1), (True, "FEE"): ("SERVICE_FEE", -1),
        (False, "SUSPENSE_APPLY"): ("SUSPENSE_TO_PARTNER", -1), (True, "REFUND"): ("REFUND", -1),
    }
    assert posting._GUARANTOR_LINES == {
        (True, "CLAIM"): ("CLAIM_PAYMENT", 1),
        (False, "RECOVERY"): ("RECOVERY_TO_GUARANTOR", -1),
        (False, "SUSP_RECOVERY"): ("RECOVERY_TO_GUARANTOR", -1),
        (True, "CLAIM_EXCESS"): (("CLAIM_EXCESS_RECEIVED", 1), ("CLAIM_EXCESS_REFUND", -1)),
    }


def test_posting_rules_command_prints_the_table_in_docs():
    out = io.StringIO()
    call_command("posting_rules", stdout=out)
    text = out.getvalue()
    assert "| COLLECT | INTEREST | BANK | BANK_GL | 1221 DUE_FROM_PLATFORM (platform) |" in text
    assert text == DOC.read_text(encoding="utf-8"), (
        "docs/posting_rules.md is stale: python manage.py posting_rules > docs/posting_rules.md")
