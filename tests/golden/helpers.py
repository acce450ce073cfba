"""Shared steps of the golden days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection

from ledger import checks
from ledger.selectors import account_balance_get
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import Agreement, Loan, Statement
from lending.settlement import runner
from partners.models import Partner
from tests.factories.calendar import only_business_day


def deliver_and_settle(partner: str, day: date, **files) -> object:
    only_business_day(day, partner_code=partner)
    results = partner_files_import(partner=partner, business_date=day, files=files)
    for kind, r in results.items():
        assert r["status"] == "ACCEPTED", (kind, r)
    run = runner.settlement_run(partner=Partner.objects.get(code=partner), business_date=day)
    assert run.state == "DONE", (run.state, run.error, run.totals.get("check_problems"))
    return run


def settle(day: date, **files) -> object:
    """ALPHA's files for `day` delivered and settled, then every check of the books clean."""
    run = deliver_and_settle("ALPHA", day, **files)
    assert checks.run_checks(as_of=day) == []
    return run


def program_in(golden: dict, code: str, name: str, **params):
    """Another EQUAL_INSTALLMENT program of ALPHA's golden agreement AG-G (max rate 24 %)."""
    return services.program_create(
        partner=golden["platform"], agreement=Agreement.objects.get(code="AG-G"), code=code,
        name=name, repayment_methods=["EQUAL_INSTALLMENT"], max_annual_rate=Decimal("0.24"),
        **params)


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


def loan_row_in(program: str, loan_no, **kw):
    """loan_row for another program of the partner."""
    row = list(loan_row(loan_no, **kw))
    row[1] = program
    return tuple(row)


def movements(loan_no: str, day: date) -> dict[tuple[str, str, str], Decimal]:
    """(funder, event, component) → Σ amount of the loan's movements on `day`."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT f.code, m.event, m.component, SUM(m.amount)
                 FROM lending_movement m JOIN lending_loan l ON l.id = m.loan_id
                 JOIN partners_partner f ON f.id = m.funder_id
                WHERE l.loan_no = %s AND m.business_date = %s GROUP BY 1, 2, 3""",
            [loan_no, day])
        return {(f, e, c): a for f, e, c, a in cur.fetchall()}


def journal(day: date, book: str = "BANK_GL") -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(purpose, account) → (Σ debit, Σ credit) of the book's entries dated `day`."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT e.purpose, a.code, SUM(l.debit), SUM(l.credit)
                 FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id
                 JOIN ledger_account a ON a.id = l.account_id
                 JOIN ledger_book b ON b.id = e.book_id
                WHERE e.business_date = %s AND b.code = %s GROUP BY 1, 2""", [day, book])
        return {(p, a): (d, c) for p, a, d, c in cur.fetchall()}


def positions(loan_no: str, day: date) -> dict[str, tuple]:
    """Derived share positions (principal, interest, penalty + compound) of a loan on `day`."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT f.code, x.principal, x.interest, x.penalty + x.compound
                 FROM lending_share_positions(%s) x
                 JOIN lending_loan l ON l.id = x.loan_id
                 JOIN partners_partner f ON f.id = x.funder_id
                WHERE l.loan_no = %s""", [day, loan_no])
        return {f: (p, i, pc) for f, p, i, pc in cur.fetchall()}


def installments(loan_no: str) -> list[tuple]:
    loan = Loan.objects.get(loan_no=loan_no)
    return [(i.seq, i.due_on, i.principal_due, i.interest_due, i.principal_paid,
             i.interest_paid, i.status) for i in loan.installments.order_by("seq")]


def hu(x) -> Decimal:
    """HALF_UP to the cent, for the hand arithmetic in the tests."""
    from decimal import ROUND_HALF_UP
    return Decimal(x).quantize(Decimal("0.01"), ROUND_HALF_UP)
