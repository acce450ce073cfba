"""Downloads of the pages with several tables (issue 22, exports): a counterparty's day (running
balance, statement lines) and a loan (shares, schedule, repayments, movements, breaks, journal
entries) as one XLSX with a sheet per table and each table as CSV (UTF-8 with BOM); re-read,
they give the page's figures, Chinese program names intact."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from lending.models import Loan
from reports import exports
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.integration.reports.test_report_statements import (  # noqa: F401 - fixtures
    PAID,
    PROGRAM_NAME,
    claim_day,
)

pytestmark = pytest.mark.django_db


def _sheets(response, filename: str) -> dict[str, list[dict]]:
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    out = {}
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        header, *rows = [[c.value for c in r] for r in ws.iter_rows()]
        out[ws.title] = [dict(zip(header, r, strict=True)) for r in rows]
    return out


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(exports.BOM)
    return list(csv.DictReader(io.StringIO(body[1:])))


def _money(value) -> D:
    return D(str(value)).quantize(D("0.01"))


def test_a_counterparty_day_downloads_its_running_balance_and_lines(claim_day, staff_client):  # noqa: F811
    url = f"/reports/counterparties/ALPHA/{PAID.isoformat()}/"
    page = staff_client.get(url)
    day = page.context["day"]
    assert 'href="?download=xlsx"' in page.content.decode()
    sheets = _sheets(staff_client.get(url, {"download": "xlsx"}),
                     f"counterparty-ALPHA-{PAID}.xlsx")
    assert list(sheets) == ["Running balance", "Statement lines"]

    balance = {r["account"]: _money(r["debit_minus_credit"]) for r in sheets["Running balance"]}
    assert balance == {**{code: amount for code, _, amount in day.balance_rows},
                       "TOTAL": day.balance["TOTAL"], "TOTAL_TO_DAY": day.balance_as_of_day}
    *lines, total = sheets["Statement lines"]
    assert total["line_type"] == "TOTAL" and _money(total["amount"]) == day.total
    assert sum(_money(r["amount"]) for r in lines) == day.total
    assert len(lines) == sum(len(v.lines) for v in day.statements) > 0
    assert {r["program"] for r in lines} == {PROGRAM_NAME}  # Chinese intact

    csv_lines = _csv(staff_client.get(url, {"download": "csv", "table": "lines"}))
    assert [(r["line_type"], D(r["amount"])) for r in csv_lines] == \
        [(r["line_type"], _money(r["amount"])) for r in sheets["Statement lines"]]
    assert staff_client.get(url, {"download": "csv", "table": "x"}).status_code == 404


def test_a_loan_downloads_every_table_of_its_page(claim_day, staff_client):  # noqa: F811
    loan = Loan.objects.get(loan_no="L1")
    url = f"/reports/loans/{loan.pk}/"
    view = staff_client.get(url).context["view"]
    sheets = _sheets(staff_client.get(url, {"download": "xlsx"}), "loan-ALPHA-L1.xlsx")
    assert list(sheets) == ["Shares", "Schedule", "Repayments", "Movements", "Breaks",
                            "Journal entries"]
    assert {r["funder"] for r in sheets["Shares"]} == {"BANK", "ALPHA", "GUARD"}
    assert [r["seq"] for r in sheets["Schedule"]] == list(range(1, 13))
    assert {r["txn_no"] for r in sheets["Repayments"]} == {"T1", "T2", "B1", "G1"}
    assert sum(_money(r["amount"]) for r in sheets["Movements"]) == \
        sum(m["amount"] for m in view.movements)
    assert len(sheets["Movements"]) == len(view.movements) > 0
    assert len(sheets["Breaks"]) == len(view.breaks)
    assert [r["entry_id"] for r in sheets["Journal entries"]] == [e.pk for e in view.entries]

    schedule = _csv(staff_client.get(url, {"download": "csv", "table": "schedule"}))
    assert [D(r["principal_due"]) for r in schedule] == \
        [i.principal_due for i in view.installments]


def test_a_journal_entry_and_a_line_download_their_rows(claim_day, staff_client):  # noqa: F811
    loan = Loan.objects.get(loan_no="L1")
    entry = next(e for e in staff_client.get(f"/reports/loans/{loan.pk}/").context["view"]
                 .entries if e.purpose == "COLLECT")
    url = f"/reports/journal-entries/{entry.pk}/"
    view = staff_client.get(url).context["view"]
    (rows,) = _sheets(staff_client.get(url, {"download": "xlsx"}),
                      f"journal-entry-{entry.pk}.xlsx").values()
    assert [r["line_id"] for r in rows] == [r["line"].pk for r in view.lines]
    debits = sum(_money(r["debit"]) for r in rows)
    assert debits == sum(_money(r["credit"]) for r in rows) > 0
    assert [D(r["debit"]) for r in _csv(staff_client.get(url, {"download": "csv"}))] == \
        [r["line"].debit for r in view.lines]

    line = next(r for r in view.lines if r["movements"])
    url = f"/reports/journal-lines/{line['line'].pk}/"
    (movements,) = _sheets(staff_client.get(url, {"download": "xlsx"}),
                           f"journal-line-{line['line'].pk}.xlsx").values()
    assert len(movements) == line["movements"]
    assert sum(_money(r["amount"]) for r in movements) == line["movement_total"] == \
        (line["line"].debit or line["line"].credit)
