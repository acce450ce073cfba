"""Settling a date that is already DONE again is a harmless rerun (issue 19 item 2: the in-order
gate must not change that).

OPA settles three business days in order with real files (tests/factories/operations.py), then
the first and the last of them are settled again — by the runner and by the all-partner
`settle --date` — while the later days stay DONE. Each rerun ends DONE with the same fingerprint
and leaves the books, the loans, the statements and the breaks exactly as they were."""

from __future__ import annotations

import random
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import checks
from lending.settlement import runner
from lending.settlement.models import RunState, SettlementRun
from partners import calendar
from partners.models import Partner
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db


def _state() -> dict[str, list]:
    """Everything a rerun could touch, without ids or times."""
    queries = {
        "journal": """SELECT e.idempotency_key, a.code, l.program, l.counterparty, l.debit,
                             l.credit FROM ledger_journalline l
                        JOIN ledger_journalentry e ON e.id = l.entry_id
                        JOIN ledger_account a ON a.id = l.account_id ORDER BY 1, 2, 3, 4, 5, 6""",
        "loans": """SELECT loan_no, state, principal_outstanding, interest_outstanding,
                           penalty_outstanding, compound_outstanding, dpd
                      FROM lending_loan ORDER BY loan_no""",
        "movements": """SELECT l.loan_no, m.business_date, m.event, m.component, m.amount
                          FROM lending_movement m JOIN lending_loan l ON l.id = m.loan_id
                         ORDER BY 1, 2, 3, 4, 5""",
        "statements": """SELECT c.code, r.business_date, s.net_amount, t.line_type, t.amount
                           FROM lending_statement s
                           JOIN partners_partner c ON c.id = s.counterparty_id
                           JOIN lending_settlementrun r ON r.id = s.run_id
                           LEFT JOIN lending_statementline t ON t.statement_id = s.id
                          ORDER BY 1, 2, 3, 4, 5""",
        "breaks": """SELECT loan_no, business_date, kind, field, ours, theirs, status
                       FROM lending_break ORDER BY 1, 2, 3, 4""",
        "runs": """SELECT r.business_date, r.state, r.fingerprint FROM lending_settlementrun r
                    JOIN partners_partner p ON p.id = r.partner_id WHERE p.code = 'OPA'
                   ORDER BY 1""",
    }
    out = {}
    with connection.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            out[name] = cur.fetchall()
    return out


def test_settling_a_done_date_again_changes_nothing(capsys):
    ops.world_setup()
    partner = Partner.objects.get(code="OPA")
    days = calendar.business_days(date(2026, 11, 2), date(2026, 11, 4))
    for day in days:
        files = ops.build("OPA", day, ops.day_files("OPA", day, random.Random(f"OPA:{day}")))
        for kind in ops.KINDS:
            assert ops.deliver(*files[kind])["status"] == "ACCEPTED"
        run = runner.settlement_run(partner=partner, business_date=day)
        assert (run.state, run.error) == (RunState.DONE, ""), run.totals.get("check_problems")
    before = _state()
    assert before["journal"] and before["movements"] and before["statements"]

    for day in (days[0], days[-1]):  # an earlier DONE day (later ones DONE) and the last
        again = runner.settlement_run(partner=partner, business_date=day)
        assert (again.state, again.error) == (RunState.DONE, "")
        assert _state() == before, day
    call_command("settle", date=days[0], quiet=True)  # the all-partner path: OPB, OPC wait
    assert SettlementRun.objects.get(partner=partner, business_date=days[0]).state == "DONE"
    assert _state() == before
    assert checks.run_checks() == []
    capsys.readouterr()
