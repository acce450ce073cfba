"""Statement pages (issue 22, acceptance 2 and part of 4): a statement page's total is the sum
of its lines and of what was posted for the counterparty and day; each line's drill-down sums
to the line; the CSV download (UTF-8 with BOM) re-reads to the page's numbers, Chinese intact.

Data: the golden world (ALPHA 70/30 with the bank, GUARD guaranteeing the bank's share), taken
to a claim and then the day the borrower pays 300.00 before the guarantor pays the claim — so
ALPHA's statement has collection lines per component and GUARD's a claim payment and a claim
excess received and refunded (two lines from the same movements)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from ledger.models import JournalLine
from lending.models import Program
from lending.settlement import posting
from lending.settlement.models import Statement
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db

D0, PAID = date(2026, 1, 15), date(2026, 7, 6)
CLAIM = D("6159.75")
PROGRAM_NAME = "现金贷 cash loan"


@pytest.fixture
def claim_day(golden):  # noqa: F811 - the fixture imported above
    Program.objects.filter(pk=golden["program"].pk).update(name=PROGRAM_NAME)
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(date(2026, 2, 15), repayments=[pay_row("T1", "L1", date(2026, 2, 15), "916.80"),
                                          pay_row("T9", "L2", date(2026, 2, 15), "600.00")])
    settle(date(2026, 3, 15), repayments=[pay_row("T2", "L1", date(2026, 3, 15), "916.80")])
    for d in (date(2026, 4, 15), date(2026, 5, 15), date(2026, 6, 15), date(2026, 7, 4)):
        settle(d)
    settle(PAID, repayments=[pay_row("B1", "L1", PAID, "300.00"),
                             pay_row("G1", "L1", PAID, str(CLAIM), payer="GUARANTOR")])
    return golden


def _posted_for(st: Statement) -> D:
    """Independently of the pages: Σ (debit − credit) of the BANK_GL lines that the statement's
    run posted against the counterparty (its settlement accounts), accruals excluded."""
    agg = (JournalLine.objects.filter(entry__source_run=posting.run_key(st.run),
                                      entry__business_date=st.business_date,
                                      entry__book__code="BANK_GL",
                                      counterparty=st.counterparty.code)
           .exclude(source="accrual").aggregate(d=Sum("debit"), c=Sum("credit")))
    return (agg["d"] or D(0)) - (agg["c"] or D(0))


def _statements() -> list[Statement]:
    return list(Statement.objects.filter(business_date__in=[date(2026, 2, 15), PAID])
                .select_related("counterparty", "run__partner").order_by("pk"))


def test_statement_total_is_the_sum_of_its_lines_and_of_the_postings(claim_day, staff_client):
    statements = _statements()
    assert {(s.counterparty.code, s.business_date) for s in statements} >= {
        ("ALPHA", PAID), ("GUARD", PAID), ("ALPHA", date(2026, 2, 15))}
    for st in statements:
        response = staff_client.get(f"/reports/statements/{st.pk}/")
        assert response.status_code == 200
        view = response.context["view"]
        amounts = [r["line"].amount for r in view.lines]
        assert len(amounts) == st.lines.count() > 0
        assert view.total == sum(amounts) == st.net_amount == _posted_for(st), st
        html = response.content.decode()
        assert f'id="statement-total">{view.total}<' in html
        assert PROGRAM_NAME in html  # lines by program name, never a bare program_id
    for code in ("ALPHA", "GUARD"):  # a counterparty's day: every platform's statement
        page = staff_client.get(f"/reports/counterparties/{code}/{PAID:%Y-%m-%d}/")
        assert page.status_code == 200
        day = page.context["day"]
        nets = [s.net_amount for s in Statement.objects.filter(counterparty__code=code,
                                                                business_date=PAID)]
        assert len(day.statements) == len(nets) == 1
        assert day.total == sum(nets) == sum(r["line"].amount for v in day.statements
                                             for r in v.lines)
        assert f'id="day-total">{day.total}<' in page.content.decode()
    guard = next(s for s in statements if s.counterparty.code == "GUARD")
    lines = {r["line"].line_type: r["line"].amount
             for r in staff_client.get(f"/reports/statements/{guard.pk}/").context["view"].lines}
    # the golden figures (tests/golden/test_golden_claims.py: the borrower's 300.00 first)
    assert lines == {"CLAIM_PAYMENT": D("5989.22"), "CLAIM_EXCESS_RECEIVED": D("170.53"),
                     "CLAIM_EXCESS_REFUND": D("-170.53")}


def test_each_line_drills_down_to_movements_and_journal_lines(claim_day, staff_client):
    seen = set()
    for st in _statements():
        journal = {}
        for line in st.lines.all():
            response = staff_client.get(f"/reports/statement-lines/{line.pk}/")
            assert response.status_code == 200
            drill = response.context["drill"]
            assert drill.row_count == len(drill.rows) > 0  # one page here
            assert sum(r["amount"] for r in drill.rows) == drill.total == line.amount, (
                line.line_type, line.amount)
            for r in drill.rows:  # the line counts one funder's share of each row's movement
                assert abs(r["amount"]) in {abs(a) for a in r["funders"] if a is not None}
                assert r["loan_no"] in {"L1", "L2"}
            assert drill.journal_lines, f"{line.line_type}: no journal line found"
            assert f'href="/reports/loans/{drill.rows[0]["loan_id"]}/"' in \
                response.content.decode()
            seen.add(line.line_type)
            txns = {r["txn_no"] for r in drill.rows}
            if line.line_type.startswith("COLLECTION_") and st.business_date == PAID:
                assert txns == {"B1"}  # the partner's txn_no, not a staging id
                # the bank's share is on ALPHA's line; ALPHA's own share is shown beside it
                assert drill.funders == ["BANK", "ALPHA"]
                assert all(r["funders"][0] == r["amount"] and r["funders"][1] > 0
                           for r in drill.rows)
            if line.line_type == "CLAIM_PAYMENT":
                assert txns == {"G1"}
            journal.update({ln.pk: ln for ln in drill.journal_lines})
            for entry in drill.entries:  # and back: each journal line to its movements
                page = staff_client.get(f"/reports/journal-entries/{entry.pk}/")
                for r in page.context["view"].lines:
                    if r["movements"]:
                        assert abs(r["movement_total"]) == r["line"].debit + r["line"].credit
                    else:
                        assert r["line"].source == "accrual"
        # the journal lines the statement's lines drill to are what was posted for it
        posted = sum((ln.debit - ln.credit for ln in journal.values()
                      if ln.entry.book.code == "BANK_GL"
                      and ln.counterparty == st.counterparty.code), D(0))
        assert posted == st.net_amount, st
    assert {"COLLECTION_PRINCIPAL", "COLLECTION_INTEREST", "COLLECTION_PENALTY",
            "CLAIM_PAYMENT", "CLAIM_EXCESS_RECEIVED", "CLAIM_EXCESS_REFUND"} <= seen


def _csv(response) -> tuple[bytes, list[dict]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_statement_csv_has_a_bom_the_page_totals_and_chinese(claim_day, staff_client):
    for st in _statements():
        page = staff_client.get(f"/reports/statements/{st.pk}/").context["view"]
        response = staff_client.get(f"/reports/statements/{st.pk}/export.csv")
        assert response["Content-Type"].startswith("text/csv")
        body, rows = _csv(response)
        assert body.startswith(b"\xef\xbb\xbf")
        *lines, total = rows
        assert total["line_type"] == "TOTAL" and D(total["amount"]) == page.total
        assert [(r["line_type"], D(r["amount"])) for r in lines] == [
            (r["line"].line_type, r["line"].amount) for r in page.lines]
        assert sum(D(r["amount"]) for r in lines) == page.total
        assert {r["program"] for r in lines} == {PROGRAM_NAME}
    # a line's drill-down downloads too, and sums to the line
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=PAID)
    for line in st.lines.all():
        body, rows = _csv(staff_client.get(f"/reports/statement-lines/{line.pk}/export.csv"))
        assert body.startswith(b"\xef\xbb\xbf")
        assert sum(D(r["line_amount"]) for r in rows) == line.amount
        assert {r["txn_no"] for r in rows} == {"B1"}
    # and the list of statements
    body, rows = _csv(staff_client.get("/reports/statements/export.csv",
                                       {"business_date": PAID.isoformat()}))
    assert body.startswith(b"\xef\xbb\xbf")
    got = {r["counterparty"]: (D(r["net_amount"]), D(r["lines_total"])) for r in rows}
    assert got == {s.counterparty.code: (s.net_amount, s.net_amount)
                   for s in Statement.objects.filter(business_date=PAID)}


def test_loan_page_shows_schedule_shares_repayments_and_postings(claim_day, staff_client):
    from lending.models import Loan
    from lending.reconciliation.models import Break

    loan = Loan.objects.get(loan_no="L1")
    brk = Break.objects.create(partner=loan.partner, loan=loan, loan_no=loan.loan_no,
                               kind="DPD_MISMATCH", business_date=PAID, last_seen_on=PAID,
                               ours="92", theirs="95")
    response = staff_client.get(f"/reports/loans/{loan.pk}/")
    assert response.status_code == 200
    view = response.context["view"]
    assert len(view.installments) == 12
    # the guarantor bought the bank's share with its claim payment
    assert {s.funder.code for s in view.shares} == {"BANK", "ALPHA", "GUARD"}
    by_txn = {r["txn_no"]: r for r in view.repayments}
    assert set(by_txn) == {"T1", "T2", "B1", "G1"}
    for txn in ("T1", "T2", "B1"):  # a borrower's payment is allocated in full
        assert by_txn[txn]["allocated"] == by_txn[txn]["amount"], txn
    assert view.claims and view.claims[0].status == "PAID"
    assert {e.purpose for e in view.entries} >= {"DISBURSE", "COLLECT", "CLAIM"}
    html = response.content.decode()
    assert all(f'href="/reports/journal-entries/{e.pk}/"' in html for e in view.entries)
    assert "B1" in html
    assert brk in view.breaks  # the loan's breaks, on its page
    assert "ours 92 / theirs 95" in html.split('id="loan-breaks"')[1].split("</table>")[0]


def test_pages_are_for_staff_with_the_permission(client, django_user_model):
    urls = ["/reports/", "/reports/statements/1/", "/reports/breaks/", "/reports/loans/1/",
            "/reports/statement-lines/1/", "/reports/statements/1/export.csv",
            "/reports/breaks/export.csv", "/reports/statements/export.csv",
            "/reports/journal-entries/1/", "/reports/counterparties/GUARD/2026-07-06/"]
    for url in urls:  # not logged in: to the login page
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        assert client.get(url, HTTP_AUTHORIZATION="Api-Key x").status_code == 403, url
    client.force_login(django_user_model.objects.create_user("clerk", password="x"))
    for url in urls:  # logged in, not staff (a partner user): refused
        assert client.get(url).status_code == 403, url
    client.force_login(django_user_model.objects.create_user("users-admin", password="x",
                                                             is_staff=True))
    for url in urls:  # staff without the view permissions: refused
        assert client.get(url).status_code == 403, url
