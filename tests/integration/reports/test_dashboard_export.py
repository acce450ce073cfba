"""The morning dashboard downloads (issue 22, exports): one XLSX with a sheet per table of the
page (partners' last days, portfolio, trends: money as numbers, header frozen) and each table as
CSV (UTF-8 with BOM); re-read, they give the dashboard's own figures, Chinese names intact."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from lending.models import Loan
from reports import exports
from reports.selectors import dashboard_get
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.integration.reports.test_report_statements import (  # noqa: F401 - fixtures
    PAID,
    PROGRAM_NAME,
    claim_day,
)

pytestmark = pytest.mark.django_db


def _sheets(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="dashboard.xlsx"'
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    out = {}
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        header, *rows = list(ws.iter_rows())
        out[ws.title] = ([c.value for c in header], rows)
    return out


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(exports.BOM)
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_dashboard_downloads_its_tables_as_xlsx_sheets_and_csv(claim_day, staff_client):  # noqa: F811
    call_command("portfolio_snapshot", stdout=io.StringIO())
    board = dashboard_get()
    (day,) = board.partners
    assert day.run.business_date == PAID and day.statements

    page = staff_client.get("/reports/").content.decode()
    assert 'href="/reports/?download=xlsx"' in page
    sheets = _sheets(staff_client.get("/reports/?download=xlsx"))
    assert list(sheets) == ["Partner days", "Portfolio", "Trends"]

    header, (row,) = sheets["Partner days"]
    cell = dict(zip(header, row, strict=True))
    assert cell["partner"].value == "ALPHA" and cell["business_date"].value.date() == PAID
    assert cell["net_settlement"].number_format == exports.MONEY_FORMAT
    assert D(str(cell["net_settlement"].value)) == day.net_settlement
    assert D(str(cell["collected_total"].value)) == day.collections_total > 0
    assert D(str(cell["collected_principal"].value)) == day.collections["PRINCIPAL"]
    assert D(str(cell["claims_paid"].value)) == day.claims > 0
    assert [cell[f"breaks_open_{label}"].value for label, _ in day.break_buckets] == \
        [n for _, n in day.break_buckets]

    header, (line,) = sheets["Portfolio"]
    cell = dict(zip(header, line, strict=True))
    assert cell["program"].value == PROGRAM_NAME  # Chinese intact
    open_loans = Loan.objects.filter(state__in=("ACTIVE", "OVERDUE", "CLAIMED"))
    assert cell["loans"].value == open_loans.count() == board.portfolio[0]["loans"]
    assert D(str(cell["principal_outstanding"].value)) == \
        sum(ln.principal_outstanding for ln in open_loans)

    header, rows = sheets["Trends"]
    assert [r[0].value for r in rows] == [label for label, _ in board.trends["collections"]]

    # each table as CSV: the same rows
    days_csv = _csv(staff_client.get("/reports/?download=csv&table=days"))
    assert days_csv[0] == sheets["Partner days"][0] and len(days_csv) == 2
    assert D(days_csv[1][days_csv[0].index("net_settlement")]) == day.net_settlement
    portfolio_csv = _csv(staff_client.get("/reports/?download=csv&table=portfolio"))
    assert portfolio_csv[1][portfolio_csv[0].index("program")] == PROGRAM_NAME

    assert staff_client.get("/reports/?download=csv&table=nothing").status_code == 404
    assert staff_client.get("/reports/?download=pdf").status_code == 404


def test_the_downloads_are_for_staff_with_the_permission(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    client.force_login(user)
    assert client.get("/reports/?download=xlsx").status_code == 403


def test_the_charts_figures_have_thousands_separators():
    from reports.charts import line_chart

    svg = line_chart([("2026-12-03", D("-48432.87")), ("2026-12-04", D("1234567.50"))],
                     title="Net", css_id="trend-net")
    assert "last 1,234,567.50</small>" in svg and "2026-12-03: -48,432.87</title>" in svg
