"""R4's two queries read the loan table through an index: booking's (one borrower's outstanding
principal: partner and borrower token) through loan_partner_borrower, the run's (a partner's
borrowers) through an index leading with the partner. The queries are the ones the code runs
(captured, then EXPLAINed), over 30,000 loans of ten platforms so the planner weighs the
indexes against a sequential scan."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lending import services
from lending.models import Loan
from lending.settlement import limits as run_limits
from lending.settlement.models import SettlementRun
from tests.factories import lending as f

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)
INDEX = "loan_partner_borrower"
PLATFORMS, LOANS_EACH = 10, 3000


def _program(code: str):
    version = f.active_agreement(code=f"AG-{code}", platform=f.partner(code),
                                 bank_ratio=Decimal("0.70"), effective_from=date(2024, 1, 1))
    return f.program(code=f"P-{code}", version=version, repayment_methods=["EQUAL_INSTALLMENT"],
                     min_annual_rate=Decimal("0.05"), max_annual_rate=Decimal("0.24"),
                     max_principal=Decimal("200000"), max_term_months=24)


def _loan(program, loan_no: str) -> services.LoanToBook:
    return services.LoanToBook(
        partner_id=program.partner_id, loan_no=loan_no, program_id=program.pk,
        borrower_token=services.borrower_token(partner_code=program.partner.code,
                                               borrower_ref=loan_no),
        principal=Decimal("5000"), annual_rate=Decimal("0.18"), term_months=12,
        repayment_method="EQUAL_INSTALLMENT", disbursed_on=DAY,
        bank_approval_ref=f"BA-{loan_no}", source_ref=loan_no)


def _clone_loans(source: Loan, n: int) -> None:
    """n copies of a booked loan under new numbers and borrowers, set-based."""
    columns = [fld.column for fld in Loan._meta.concrete_fields if not fld.primary_key]
    values = [{"loan_no": "loan_no || '-' || g",
               "borrower_token": "encode(sha256((partner_id || ':' || g)::text::bytea), 'hex')",
               }.get(c, c) for c in columns]
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO lending_loan ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM lending_loan, generate_series(1, %s) g "
                    "WHERE id = %s", [n, source.pk])


def _loan_scans(sql: str) -> list[tuple[str, str]]:
    """(node type, index name) of every plan node that reads the loan table or its indexes."""
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, todo = [], [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        todo.extend(node.get("Plans", ()))
        if node.get("Relation Name") == "lending_loan" or node.get("Index Name", "").startswith(
                "loan"):
            nodes.append((node["Node Type"], node.get("Index Name", "")))
    return nodes


@pytest.fixture
def programs():
    programs = [_program(f"PL{i}") for i in range(PLATFORMS)]
    for p in programs:
        services.loans_book(loans=[_loan(p, f"{p.code}-1")], booked_on=DAY)
        _clone_loans(Loan.objects.get(partner=p.partner), LOANS_EACH)
    with connection.cursor() as cur:
        cur.execute("ANALYZE lending_loan")
    return programs


def _captured(ctx: CaptureQueriesContext, marker: str) -> str:
    found = [q["sql"] for q in ctx.captured_queries if marker in q["sql"]]
    assert len(found) == 1, [q["sql"][:200] for q in ctx.captured_queries]
    return found[0]


def test_booking_reads_a_borrowers_loans_through_the_index(programs):
    program = programs[3]
    with CaptureQueriesContext(connection) as ctx:
        result = services.loans_book(loans=[_loan(program, "NEW-1"), _loan(program, "NEW-2")],
                                     booked_on=DAY)
    assert result.booked == 2
    scans = _loan_scans(_captured(ctx, "unnest("))
    assert any(index == INDEX for _, index in scans), scans
    assert ("Seq Scan", "") not in scans, scans


def test_the_runs_borrower_check_reads_one_partners_loans_not_the_table(programs):
    """The run's check filters on the partner alone (and groups by token): any index leading
    with the partner serves it — the planner takes loan_no_per_partner or loan_partner_borrower
    as their sizes say — and never a scan of every partner's loans."""
    run = SettlementRun.objects.create(partner=programs[5].partner, business_date=DAY)
    with CaptureQueriesContext(connection) as ctx:
        out = run_limits.borrowers_alert(run, lambda *args, **kwargs: None)
    assert out["r4_borrowers"]["warning"] == 0
    scans = _loan_scans(_captured(ctx, "GROUP BY borrower_token"))
    assert any(index in (INDEX, "loan_no_per_partner") for _, index in scans), scans
    assert ("Seq Scan", "") not in scans, scans
