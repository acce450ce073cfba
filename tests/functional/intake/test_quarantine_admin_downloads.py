"""The staff quarantine list downloads the selected rows as CSV (UTF-8 with a BOM) and XLSX,
for whoever may view the list and no one else (issue 22)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from openpyxl import load_workbook

from partners.models import QuarantinedRow
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

URL = "/admin/partners/quarantinedrow/"
D = date(2026, 6, 16)
MESSAGE = "借款人姓名无效: 李四"


@pytest.fixture
def rows():
    alpha, _ = rf.platform_with_program("ALPHA")
    beta, _ = rf.platform_with_program("BETA")
    out = []
    for partner, amount in ((alpha, "12.34"), (alpha, "-5.00"), (beta, "100.00")):
        day = D + timedelta(days=len(out))
        inbound = rf.inbound_file(partner, "repayments", day, 3, quarantined=1)
        out.append(QuarantinedRow.objects.create(
            file=inbound, partner=partner, business_date=day, row_no=len(out) + 1,
            column="borrower", reason="BAD_VALUE", message=MESSAGE, raw="T1,李四,x",
            amount=Decimal(amount)))
    return out


def _user_client(django_user_model, *codenames: str) -> Client:
    user = django_user_model.objects.create_user("clerk", password="clerk-pass-1",
                                                 is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _post(client, action: str, selected):
    return client.post(URL, {"action": action, "_selected_action": [r.pk for r in selected]})


def test_selected_rows_download_as_csv_with_bom_and_chinese(staff_client, rows):
    resp = _post(staff_client, "download_csv", rows[:2])
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    got = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8").removeprefix("\ufeff"))))
    assert [(r["partner"], r["row_no"], r["message"]) for r in got] == [
        ("ALPHA", "1", MESSAGE), ("ALPHA", "2", MESSAGE)]
    assert sum(Decimal(r["amount"]) for r in got) == Decimal("7.34")


def test_selected_rows_download_as_xlsx_with_numbers_and_a_frozen_header(staff_client, rows):
    resp = _post(staff_client, "download_xlsx", rows)
    assert resp.status_code == 200
    assert resp["Content-Disposition"] == 'attachment; filename="quarantined-rows.xlsx"'
    ws = load_workbook(io.BytesIO(resp.content)).active
    assert ws.freeze_panes == "A2"
    values = list(ws.iter_rows(values_only=True))
    got = [dict(zip(values[0], v, strict=True)) for v in values[1:]]
    assert sorted(r["amount"] for r in got) == [-5.0, 12.34, 100.0]  # numbers, not text
    assert {r["partner"] for r in got} == {"ALPHA", "BETA"} and got[0]["message"] == MESSAGE
    assert ws["I2"].number_format == "#,##0.00;-#,##0.00"


def test_a_viewer_may_download_and_anyone_else_is_refused(django_user_model, rows):
    viewer = _user_client(django_user_model, "view_quarantinedrow")
    assert viewer.get(URL).status_code == 200
    resp = _post(viewer, "download_csv", rows)
    assert resp.status_code == 200 and resp.content.count(MESSAGE.encode()) == 3
    django_user_model.objects.filter(username="clerk").delete()
    nobody = _user_client(django_user_model)  # staff, but no permission on the page
    assert nobody.get(URL).status_code == 403
    for action in ("download_csv", "download_xlsx"):
        assert _post(nobody, action, rows).status_code == 403
