"""The partner API answers `Accept: text/csv` and the XLSX media type (or `?format=`) with the
JSON's rows as a file (issue 22): CSV in UTF-8 with a BOM, XLSX re-read by openpyxl, the same
filters, and only the requesting partner's rows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook
from rest_framework.test import APIClient

from lending.models import SettlementRun, Statement, StatementLine
from lending.reconciliation import services
from partners import services as partner_services
from partners.models import PartnerUser, QuarantinedRow
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D = date(2026, 6, 16)
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHINESE = "代收本金 张三"


def _client_for(partner) -> APIClient:
    user = get_user_model().objects.create_user(f"x_{partner.code.lower()}", password="x-p-1234")
    link = PartnerUser.objects.create(user=user, partner=partner)
    _, raw = partner_services.api_key_issue(partner_user=link, label="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _statement(partner, day: date, net: str, fee: str = "-1.00") -> Statement:
    run = SettlementRun.objects.create(partner=partner, business_date=day, state="DONE")
    st = Statement.objects.create(counterparty=partner, business_date=day, run=run,
                                  net_amount=Decimal(net))
    StatementLine.objects.create(statement=st, line_type="COLLECTIONS",
                                 amount=Decimal(net) - Decimal(fee), description=CHINESE)
    StatementLine.objects.create(statement=st, line_type="SERVICE_FEE", amount=Decimal(fee),
                                 description="service fee")
    return st


@pytest.fixture
def world():
    alpha, alpha_program = rf.platform_with_program("ALPHA")
    beta, beta_program = rf.platform_with_program("BETA")
    rf.loans(alpha_program, ["A1", "A2"])
    rf.loans(beta_program, ["B1"])
    alpha_file = rf.balances_file(alpha, D, [("A1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    rf.balances_file(beta, D, [("B1", "10000.00", "50.00", "0.00", 7, "ACTIVE")])
    services.breaks_reconcile(partner_id=alpha.pk, business_date=D)
    services.breaks_reconcile(partner_id=beta.pk, business_date=D)
    QuarantinedRow.objects.create(file=alpha_file, partner=alpha, business_date=D, row_no=2,
                                  column="amount", reason="BAD_AMOUNT",
                                  message=f"金额无效: {CHINESE}", raw="A9,abc",
                                  amount=Decimal("12.34"))
    return {"alpha": alpha, "beta": beta, "alpha_file": alpha_file,
            "alpha_st": _statement(alpha, D, "100.50"),
            "alpha_old": _statement(alpha, date(2026, 6, 15), "-20.00"),
            "beta_st": _statement(beta, D, "7.00")}


def _csv(resp) -> list[dict]:
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith(CSV)
    assert resp.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    text = resp.content.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _xlsx(resp) -> dict[str, list[dict]]:
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"] == XLSX
    assert resp["Content-Disposition"].startswith("attachment; filename=")
    wb = load_workbook(io.BytesIO(resp.content))
    sheets = {}
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        values = list(ws.iter_rows(values_only=True))
        sheets[ws.title] = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    return sheets


def _json_rows(client, url, params=None) -> list[dict]:
    resp = client.get(url, {**(params or {}), "limit": 1000})
    assert resp.status_code == 200, resp.content
    return resp.json()["results"]


def test_statements_as_csv_and_xlsx_carry_the_json_rows_and_totals(world):
    client = _client_for(world["alpha"])
    json_rows = _json_rows(client, "/api/v1/statements/")
    json_total = sum(Decimal(r["net_amount"]) for r in json_rows)
    json_lines = sum(Decimal(ln["amount"]) for r in json_rows for ln in r["lines"])

    rows = _csv(client.get("/api/v1/statements/", HTTP_ACCEPT=CSV))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in json_rows]
    assert sum(Decimal(r["net_amount"]) for r in rows) == json_total == Decimal("80.50")
    assert "lines" not in rows[0] and rows[0]["platform"] == "ALPHA"
    assert rows == _csv(client.get("/api/v1/statements/", {"format": "csv"}))

    sheets = _xlsx(client.get("/api/v1/statements/", HTTP_ACCEPT=XLSX))
    statements, lines = sheets["Statements"], sheets["Lines"]
    assert [r["id"] for r in statements] == [r["id"] for r in json_rows]
    assert isinstance(statements[0]["net_amount"], int | float)  # a number, not text
    assert sum(Decimal(str(r["net_amount"])) for r in statements) == json_total
    assert isinstance(statements[0]["business_date"], datetime)  # a date cell
    assert sum(Decimal(str(r["amount"])) for r in lines) == json_lines
    assert {r["statement_id"] for r in lines} == {r["id"] for r in json_rows}
    assert CHINESE in {r["description"] for r in lines}


def test_a_statement_csv_is_its_lines_with_chinese_intact(world):
    client = _client_for(world["alpha"])
    st = world["alpha_st"]
    data = client.get(f"/api/v1/statements/{st.pk}/").json()
    rows = _csv(client.get(f"/api/v1/statements/{st.pk}/", HTTP_ACCEPT=CSV))
    assert [(r["line_type"], r["description"]) for r in rows] == [
        (ln["line_type"], ln["description"]) for ln in data["lines"]]
    assert rows[0]["description"] == CHINESE
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(data["net_amount"])
    assert {r["statement_id"] for r in rows} == {str(st.pk)}
    sheets = _xlsx(client.get(f"/api/v1/statements/{st.pk}/", {"format": "xlsx"}))
    assert [r["id"] for r in sheets["Statement"]] == [st.pk]
    assert sum(Decimal(str(r["amount"])) for r in sheets["Lines"]) == Decimal("100.50")


def test_the_date_filters_and_paging_hold_for_the_files(world):
    client = _client_for(world["alpha"])
    dated = _csv(client.get("/api/v1/statements/", {"business_date": "2026-06-15"},
                            HTTP_ACCEPT=CSV))
    assert [r["net_amount"] for r in dated] == ["-20.00"]
    ranged = _xlsx(client.get("/api/v1/statements/", {"from": "2026-06-16", "format": "xlsx"}))
    assert [r["net_amount"] for r in ranged["Statements"]] == [100.5]
    assert _csv(client.get("/api/v1/statements/", {"from": "2026-06-17"},
                           HTTP_ACCEPT=CSV)) == []
    paged = _csv(client.get("/api/v1/statements/", {"limit": 1, "offset": 1}, HTTP_ACCEPT=CSV))
    assert [r["business_date"] for r in paged] == ["2026-06-15"]  # the page, not the envelope
    # a bad filter stays a JSON 400, never a file
    bad = client.get("/api/v1/statements/", {"to": "16/06/2026"}, HTTP_ACCEPT=CSV)
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"
    assert "to" in bad.json() and "Content-Disposition" not in bad


def test_breaks_files_and_quarantined_rows_download(world):
    client = _client_for(world["alpha"])
    json_breaks = _json_rows(client, "/api/v1/breaks/")
    breaks = _csv(client.get("/api/v1/breaks/", {"format": "csv"}))
    assert sorted(r["loan_no"] for r in breaks) == sorted(r["loan_no"] for r in json_breaks)
    assert sum(Decimal(r["difference"] or "0") for r in breaks) == sum(
        Decimal(r["difference"] or "0") for r in json_breaks)
    open_only = _xlsx(client.get("/api/v1/breaks/", {"status": "OPEN"}, HTTP_ACCEPT=XLSX))
    assert len(open_only["Breaks"]) == len(json_breaks)

    files = _csv(client.get("/api/v1/files/", HTTP_ACCEPT=CSV))
    assert [int(r["id"]) for r in files] == [world["alpha_file"].pk]
    url = f"/api/v1/files/{world['alpha_file'].pk}/quarantined-rows/"
    quarantined = _csv(client.get(url, HTTP_ACCEPT=CSV))
    assert [(r["message"], r["amount"]) for r in quarantined] == [
        (f"金额无效: {CHINESE}", "12.34")]
    sheet = _xlsx(client.get(url, HTTP_ACCEPT=XLSX))["Quarantined rows"]
    assert sheet[0]["amount"] == 12.34 and sheet[0]["message"].endswith(CHINESE)


def test_a_partner_key_gets_only_its_own_rows_in_the_files_too(world):
    alpha, beta = _client_for(world["alpha"]), _client_for(world["beta"])
    beta_ids = {str(world["beta_st"].pk)}
    assert not beta_ids & {r["id"] for r in _csv(alpha.get("/api/v1/statements/",
                                                           HTTP_ACCEPT=CSV))}
    assert {r["id"] for r in _csv(beta.get("/api/v1/statements/", HTTP_ACCEPT=CSV))} == beta_ids
    assert {r["loan_no"] for r in _csv(beta.get("/api/v1/breaks/", HTTP_ACCEPT=CSV))} == {"B1"}
    assert _csv(beta.get("/api/v1/files/", HTTP_ACCEPT=CSV))[0]["name"].startswith("BETA_")
    for url in [f"/api/v1/statements/{world['beta_st'].pk}/",
                f"/api/v1/files/{world['beta_st'].pk + 10**6}/quarantined-rows/"]:
        for accept in (CSV, XLSX):
            resp = alpha.get(url, HTTP_ACCEPT=accept)
            assert resp.status_code == 404 and resp["Content-Type"] == "application/json"
    url = f"/api/v1/files/{world['alpha_file'].pk}/quarantined-rows/"
    assert beta.get(url, HTTP_ACCEPT=CSV).status_code == 404
    assert APIClient().get("/api/v1/statements/", HTTP_ACCEPT=CSV).status_code in (401, 403)


def test_an_unknown_or_empty_format_is_a_400_naming_it(world):
    client = _client_for(world["alpha"])
    for value in ("pdf", ""):
        resp = client.get("/api/v1/statements/", {"format": value})
        assert resp.status_code == 400 and "format" in resp.json(), resp.content
    assert client.get("/api/v1/statements/", {"format": "json"}).status_code == 200


def test_the_loan_snapshot_in_json_csv_and_xlsx_holds_only_own_loans(world):
    client = _client_for(world["alpha"])
    assert client.get("/api/v1/snapshot/").status_code == 400  # the day is required
    body = client.get("/api/v1/snapshot/", {"business_date": "2026-06-16", "limit": 1000})
    assert body.status_code == 200, body.content
    json_rows = body.json()["results"]
    assert [r["loan_no"] for r in json_rows] == ["A1", "A2"]
    json_total = sum(Decimal(r["principal_outstanding"]) for r in json_rows)
    funders = [f["funder"] for f in json_rows[0]["funders"]]
    assert funders and json_total > 0
    bank = funders[0].lower()
    bank_total = sum(Decimal(r["funders"][0]["principal"]) for r in json_rows)

    rows = _csv(client.get("/api/v1/snapshot/", {"business_date": "2026-06-16"},
                           HTTP_ACCEPT=CSV))
    assert [r["loan_no"] for r in rows] == ["A1", "A2"]
    assert sum(Decimal(r["principal_outstanding"]) for r in rows) == json_total
    assert sum(Decimal(r[f"{bank}_principal"]) for r in rows) == bank_total

    sheet = _xlsx(client.get("/api/v1/snapshot/", {"business_date": "2026-06-16",
                                                   "format": "xlsx"}))["Loan snapshot"]
    assert [r["loan_no"] for r in sheet] == ["A1", "A2"]
    assert sum(Decimal(str(r["principal_outstanding"])) for r in sheet) == json_total
    assert isinstance(sheet[0][f"{bank}_principal"], int | float)
    assert isinstance(sheet[0]["as_of"], datetime)

    beta = _csv(_client_for(world["beta"]).get("/api/v1/snapshot/?business_date=2026-06-16",
                                               HTTP_ACCEPT=CSV))
    assert [r["loan_no"] for r in beta] == ["B1"]
    before = client.get("/api/v1/snapshot/", {"business_date": "2020-01-01"}).json()
    assert before["count"] == 0  # no loan booked yet
