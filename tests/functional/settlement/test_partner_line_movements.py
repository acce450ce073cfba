"""Issue 22: a partner reads the loan-level detail of its own statement lines through the API,
`GET /api/v1/statement-lines/<id>/movements/` — per loan, its transaction number, event and
component, each funder's amount — paged like the other endpoints, in JSON, CSV and XLSX; the
movements add up to the line; another partner's line (or one of a run not DONE) is a 404.

Data: the golden world (ALPHA 70/30 with the bank, GUARD its guarantor): two loans on D0, on D1
a payment T1 on L1."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook
from rest_framework.test import APIClient

from lending.settlement.models import SettlementRun, Statement, StatementLine
from partners import services as partner_services
from partners.models import Partner, PartnerUser
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _api(code: str) -> APIClient:
    user = get_user_model().objects.create_user(f"mv-{code.lower()}", password="x")
    link = PartnerUser.objects.create(user=user, partner=Partner.objects.get(code=code))
    _, raw = partner_services.api_key_issue(partner_user=link, label="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def world(golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80")])
    return {"alpha": _api("ALPHA"), "guard": _api("GUARD")}


def _url(line: StatementLine) -> str:
    return f"/api/v1/statement-lines/{line.pk}/movements/"


def _rows(client, line, **params) -> list[dict]:
    resp = client.get(_url(line), {"limit": 1000, **params})
    assert resp.status_code == 200, resp.content
    assert resp.json()["count"] == len(resp.json()["results"])
    return resp.json()["results"]


def _lines(code: str, day: date):
    return StatementLine.objects.filter(statement__counterparty__code=code,
                                        statement__business_date=day).order_by("pk")


def test_the_movements_of_every_line_add_up_to_the_line(world):
    checked = 0
    for code, client in (("ALPHA", world["alpha"]), ("GUARD", world["guard"])):
        for day in (D0, D1):
            for line in _lines(code, day):
                rows = _rows(client, line)
                assert sum((Decimal(r["amount"]) for r in rows), Decimal("0.00")) \
                    == line.amount, (code, day, line.line_type)
                checked += bool(rows)
    assert checked >= 4  # lines with movements, not only empty ones
    line = _lines("ALPHA", D1).get(line_type="COLLECTION_PRINCIPAL")
    rows = _rows(world["alpha"], line)
    assert {(r["loan_no"], r["txn_no"]) for r in rows} == {("L1", "T1")}
    funders = [f["funder"] for f in rows[0]["funders"]]
    assert len(funders) == 2 and funders[0] != "ALPHA" and "ALPHA" in funders


def test_the_statement_api_names_each_lines_id(world):
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    body = world["alpha"].get(f"/api/v1/statements/{st.pk}/").json()
    assert sorted(ln["id"] for ln in body["lines"]) == sorted(st.lines.values_list("pk",
                                                                                    flat=True))


def test_another_partners_line_or_an_unfinished_runs_is_404(world):
    alpha_line = _lines("ALPHA", D1).get(line_type="COLLECTION_PRINCIPAL")
    # GUARD paid no claim here: a statement of its own on ALPHA's run, with one line
    guard_st = Statement.objects.create(counterparty=Partner.objects.get(code="GUARD"),
                                        business_date=D1, run=alpha_line.statement.run,
                                        net_amount=Decimal("0.00"))
    guard_line = StatementLine.objects.create(statement=guard_st, line_type="CLAIMS_PAID",
                                              amount=Decimal("0.00"), description="none")
    assert world["guard"].get(_url(guard_line)).status_code == 200  # its own: there
    for client, line in ((world["guard"], alpha_line), (world["alpha"], guard_line)):
        for accept in ("application/json", CSV, XLSX):
            resp = client.get(_url(line), HTTP_ACCEPT=accept)
            assert resp.status_code == 404 and resp["Content-Type"] == "application/json"
    assert world["alpha"].get("/api/v1/statement-lines/0/movements/").status_code == 404
    assert APIClient().get(_url(alpha_line)).status_code in (401, 403)
    assert world["alpha"].get(_url(alpha_line)).status_code == 200
    SettlementRun.objects.filter(pk=alpha_line.statement.run_id).update(state="RUNNING")
    assert world["alpha"].get(_url(alpha_line)).status_code == 404


def _widest(client) -> StatementLine:
    """ALPHA's line with the most movement rows."""
    lines = list(_lines("ALPHA", D0)) + list(_lines("ALPHA", D1))
    return max(lines, key=lambda ln: client.get(_url(ln)).json()["count"])


def test_paging_walks_every_row_once(world):
    client = world["alpha"]
    line = _widest(client)
    every = _rows(client, line)
    assert len(every) >= 2
    walked, offset = [], 0
    while True:
        page = client.get(_url(line), {"limit": 1, "offset": offset}).json()
        assert page["count"] == len(every)
        walked += page["results"]
        if not page["next"]:
            break
        offset += 1
    assert walked == every
    assert client.get(_url(line), {"limit": "0"}).status_code == 400
    assert client.get(_url(line), {"business_date": "2026-01-15"}).status_code == 400


def _csv(resp) -> list[dict]:
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith(CSV) and resp.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_csv_and_xlsx_reread_equal_the_json(world):
    client = world["alpha"]
    line = _widest(client)
    rows = _rows(client, line)
    funders = [f["funder"].lower() for f in rows[0]["funders"]]

    def flat(r: dict) -> dict:
        return {"loan_no": r["loan_no"], "txn_no": r["txn_no"], "event": r["event"],
                "component": r["component"], "amount": Decimal(r["amount"]),
                **{f"{f['funder'].lower()}_amount": (Decimal(f["amount"])
                                                     if f["amount"] is not None else None)
                   for f in r["funders"]}}

    def cells(r: dict, money) -> dict:
        return {k: (None if v in ("", None) else money(v)) if k.endswith("amount")
                else ("" if v is None else v) for k, v in r.items()}

    got = _csv(client.get(_url(line), HTTP_ACCEPT=CSV))
    assert list(got[0]) == ["loan_no", "txn_no", "event", "component", "amount",
                            *(f"{f}_amount" for f in funders)]
    assert [cells(r, Decimal) for r in got] == [flat(r) for r in rows]
    assert got == _csv(client.get(_url(line), {"format": "csv"}))

    resp = client.get(_url(line), HTTP_ACCEPT=XLSX)
    assert resp.status_code == 200 and resp["Content-Type"] == XLSX
    header, *values = list(load_workbook(io.BytesIO(resp.content)).worksheets[0]
                           .iter_rows(values_only=True))
    sheet = [dict(zip(header, v, strict=True)) for v in values]

    def money(v) -> Decimal:
        assert isinstance(v, int | float)  # a number cell, not text
        return Decimal(str(v)).quantize(Decimal("0.01"))

    assert [cells(r, money) for r in sheet] == [flat(r) for r in rows]
    # a page of the download is the JSON's page
    page = _csv(client.get(_url(line), {"limit": 1, "offset": 1}, HTTP_ACCEPT=CSV))
    assert [cells(r, Decimal) for r in page] == [flat(rows[1])]
