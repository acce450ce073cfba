"""XLSX downloads (issue 22, acceptance 4): every report with a CSV has an XLSX of the same rows
(one export helper builds both); re-read with openpyxl, a statement's XLSX gives the page's
lines and total as numbers with a money format, the header frozen, Chinese program names
intact; the CSV and the XLSX of a report hold the same rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from lending.settlement.models import Statement
from reports import exports
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.integration.reports.test_report_statements import (  # noqa: F401 - fixtures
    PAID,
    PROGRAM_NAME,
    claim_day,
)

pytestmark = pytest.mark.django_db


def _xlsx(response):
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert len(wb.worksheets) == 1  # one sheet per report
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"  # the header row stays in view
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    return ws, header, rows[1:]


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _num(value) -> D:
    return D(str(value)).quantize(D("0.01"))


def test_statement_xlsx_totals_equal_the_page(claim_day, staff_client):  # noqa: F811
    statements = list(Statement.objects.filter(business_date=PAID).order_by("pk"))
    assert {s.counterparty.code for s in statements} == {"ALPHA", "GUARD"}
    for st in statements:
        view = staff_client.get(f"/reports/statements/{st.pk}/").context["view"]
        ws, header, rows = _xlsx(staff_client.get(f"/reports/statements/{st.pk}/export.xlsx"))
        assert ws.title == "Statement"
        amount = header.index("amount")
        *lines, total = rows
        assert total[header.index("line_type")].value == "TOTAL"
        for row in rows:  # money is a number with a money format, never text
            assert isinstance(row[amount].value, int | float), row[amount].value
            assert row[amount].number_format == exports.MONEY_FORMAT
        assert _num(total[amount].value) == view.total == st.net_amount
        assert sum(_num(r[amount].value) for r in lines) == view.total
        assert [(r[header.index("line_type")].value, _num(r[amount].value)) for r in lines] == \
            [(r["line"].line_type, r["line"].amount) for r in view.lines]
        assert all(r[header.index("business_date")].value.date() == PAID for r in rows)
        if st.counterparty.code == "ALPHA":
            assert {r[header.index("program")].value for r in lines} == {PROGRAM_NAME}


@pytest.mark.parametrize("path", [
    "/reports/statements/export", "/reports/breaks/export?status=",
])
def test_list_xlsx_has_the_csv_rows(claim_day, staff_client, path):  # noqa: F811
    base, _, query = path.partition("?")
    csv_rows = _csv_rows(staff_client.get(f"{base}.csv?{query}"))
    _, header, rows = _xlsx(staff_client.get(f"{base}.xlsx?{query}"))
    assert header == csv_rows[0]
    assert len(rows) == len(csv_rows) - 1 > 0


def test_line_drilldown_xlsx_sums_to_the_line(claim_day, staff_client):  # noqa: F811
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=PAID)
    for line in st.lines.all():
        _, header, rows = _xlsx(
            staff_client.get(f"/reports/statement-lines/{line.pk}/export.xlsx"))
        col = header.index("line_amount")
        assert sum(_num(r[col].value) for r in rows) == line.amount
        assert {r[header.index("txn_no")].value for r in rows} == {"B1"}


def test_an_unknown_format_is_404(claim_day, staff_client):  # noqa: F811
    st = Statement.objects.filter(business_date=PAID).first()
    assert staff_client.get(f"/reports/statements/{st.pk}/export.pdf").status_code == 404


def test_trial_balance_and_loan_snapshot_export_from_the_command_line(claim_day, tmp_path):  # noqa: F811
    """`manage.py report_export`: the trial balance as XLSX balances (Σ debit = Σ credit, the
    TOTAL row); the loan snapshot's XLSX and CSV hold the same loans and principal."""
    from django.core.management import call_command

    from ledger.selectors import trial_balance_list

    call_command("report_export", "trial_balance", "--date", PAID.isoformat(),
                 "--output", str(tmp_path / "tb.xlsx"))
    ws = load_workbook(tmp_path / "tb.xlsx").worksheets[0]
    assert ws.freeze_panes == "A2"
    header, *rows = [[c.value for c in r] for r in ws.iter_rows()]
    *accounts, total = rows
    debit, credit = header.index("debit_balance"), header.index("credit_balance")
    tb = trial_balance_list(book="BANK_GL", as_of=PAID, include_zero=True)
    ((cur, (d, c)),) = tb.totals().items()
    assert total[0] == "TOTAL" and _num(total[debit]) == d == c == _num(total[credit]) > 0
    assert sum(_num(r[debit] or 0) for r in accounts) == d
    for fmt in ("xlsx", "csv"):
        call_command("report_export", "loan_snapshot", "--date", PAID.isoformat(),
                     "--partner", "ALPHA", "--output", str(tmp_path / f"snap.{fmt}"))
    ws = load_workbook(tmp_path / "snap.xlsx").worksheets[0]
    header, *rows = [[c.value for c in r] for r in ws.iter_rows()]
    col = header.index("principal_outstanding")
    from_xlsx = {r[0]: _num(r[col]) for r in rows}
    body = (tmp_path / "snap.csv").read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    from_csv = {r["loan_no"]: D(r["principal_outstanding"])
                for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert from_xlsx == from_csv and set(from_csv) == {"L1", "L2"}


def test_a_table_longer_than_a_sheet_goes_on_in_continuation_sheets(monkeypatch):
    # Excel's sheet holds 1,048,575 data rows; with the limit set to 3, 7 rows make 3 sheets,
    # each with the header, the rows in order, money as numbers (before: a ValueError, a 500).
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    rows = [(f"L{n}", D(f"{n}.50")) for n in range(1, 8)]
    table = exports.Table(name="loans", header=["loan", "amount"], rows=iter(rows),
                          money=frozenset({"amount"}), sheet="Loans")
    buf = io.BytesIO()
    assert exports.xlsx_write([table], buf) == 7
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames == ["Loans", "Loans (2)", "Loans (3)"]
    got = []
    for ws in wb.worksheets:
        values = list(ws.iter_rows(values_only=True))
        assert values[0] == ("loan", "amount")
        got += values[1:]
    assert got == [(no, float(a)) for no, a in rows]
    empty = exports.Table(name="none", header=["loan"], rows=iter([]), sheet="None")
    buf = io.BytesIO()
    assert exports.xlsx_write([empty], buf) == 0
    assert load_workbook(io.BytesIO(buf.getvalue())).sheetnames == ["None"]
