"""Shared steps of the golden days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from ledger.selectors import account_balance_get
from lending.intake.writer import partner_files_import
from lending.models import Loan, Statement
from lending.settlement import runner
from partners.models import Partner


def deliver_and_settle(partner: str, day: date, **files) -> object:
    results = partner_files_import(partner=partner, business_date=day, files=files)
    for kind, r in results.items():
        assert r["status"] == "ACCEPTED", (kind, r)
    run = runner.settlement_run(partner=Partner.objects.get(code=partner), business_date=day)
    assert run.state == "DONE", (run.state, run.error, run.totals.get("check_problems"))
    return run


def loan_row(loan_no, principal="10000.00", rate="0.18", term=12, method="EQUAL_INSTALLMENT",
             disbursed="2026-01-15", first_due="2026-02-15"):
    return (loan_no, "CASH", f"ref-{loan_no}", principal, rate, term, method, disbursed,
            first_due, f"BA-{loan_no}")


def pay_row(txn, loan_no, day, amount, payer="BORROWER", kind="SCHEDULED"):
    return (txn, loan_no, day, amount, payer, kind)


def shares(loan_no: str) -> dict[str, tuple]:
    loan = Loan.objects.get(loan_no=loan_no)
    return {s.funder.code: (s.principal_outstanding, s.interest_outstanding,
                            s.penalty_outstanding + s.compound_outstanding)
            for s in loan.shares.select_related("funder")}


def gl(account: str, day: date, book: str = "BANK_GL", program: str = "ALPHA/CASH") -> Decimal:
    return account_balance_get(book=book, account=account, as_of=day, program=program).balance


def statement(code: str, day: date) -> tuple[Decimal, dict[str, Decimal]]:
    st = Statement.objects.get(counterparty__code=code, business_date=day)
    return st.net_amount, {ln.line_type: ln.amount for ln in st.lines.all()}


def lines_posted(day: date) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_journalline l JOIN ledger_journalentry e"
                    " ON e.id = l.entry_id WHERE e.business_date = %s", [day])
        return cur.fetchone()[0]
