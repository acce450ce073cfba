"""The morning dashboard and the breaks triage list (issue 22): per partner the last day's run,
collections by component, disbursements, net settlement, quarantined rows, open breaks by age
and alerts, read from per-day figures in a number of queries that does not grow with the data;
the breaks list open by default with filters and a CSV download (UTF-8 with BOM)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lending.models import Loan
from lending.reconciliation.models import Break
from lending.settlement.models import Alert, Statement
from partners.models import Partner, QuarantinedRow
from reports.models import PortfolioDay
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 15)


def _render(client) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/reports/")
    assert response.status_code == 200
    return response, len(queries)


def _break(partner, loan_no, kind, first: date, last: date, status="OPEN", **extra):
    closed = {} if status == "OPEN" else {"resolution_note": "checked",
                                          "resolved_at": timezone.now()}
    extra.setdefault("field", "")
    return Break.objects.create(partner=partner, loan_no=loan_no, kind=kind,
                                business_date=first, last_seen_on=last, status=status,
                                **closed, **extra)


def response_user(client):
    """The user the test client is logged in as."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_dashboard_reads_day_figures_in_a_fixed_number_of_queries(
        golden, staff_client, django_capture_on_commit_callbacks):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    with django_capture_on_commit_callbacks(execute=True) as queued:
        first, _ = _render(staff_client)  # D0 has no portfolio snapshot: it is queued
    assert len(queued) == 1 and first.context["board"].portfolio_pending == ["ALPHA"]
    assert 'id="portfolio-pending"' in first.content.decode()
    assert PortfolioDay.objects.filter(business_date=D0).count() == 1  # CASH, CURRENT
    with django_capture_on_commit_callbacks() as queued:
        _, queries_d0 = _render(staff_client)
    assert queued == []

    settle(D1, loans=[loan_row(f"N{i}", disbursed="2026-02-15", first_due="2026-03-15")
                      for i in range(5)],
           repayments=[pay_row("T1", "L1", date(2026, 2, 15), "916.80"),
                       pay_row("T2", "UNKNOWN-LOAN", date(2026, 2, 15), "10.00")])
    alpha = Partner.objects.get(code="ALPHA")
    for n, (first_seen, kind) in enumerate([(D1, "AMOUNT_MISMATCH"), (D1 - timedelta(days=2),
                                            "DPD_MISMATCH"), (D1 - timedelta(days=4),
                                            "AMOUNT_MISMATCH"), (D1 - timedelta(days=10),
                                            "MISSING_AT_BANK")]):
        _break(alpha, f"B{n}", kind, first_seen, D1)
    _break(alpha, "B9", "AMOUNT_MISMATCH", D0, D0, status="RESOLVED")  # not open: not counted
    Alert.objects.create(key=f"FILES_MISSING:ALPHA:{D1}", reason="FILES_MISSING",
                         partner=alpha, business_date=D1, message="files missing")

    call_command("portfolio_snapshot", stdout=io.StringIO())
    response, queries_d1 = _render(staff_client)
    assert queries_d1 == queries_d0, "the dashboard's queries grow with the data"
    board = response.context["board"]
    (day,) = board.partners
    assert (day.partner.code, day.run.business_date, day.run.state) == ("ALPHA", D1, "DONE")
    assert day.check_problems == []
    statement = Statement.objects.get(counterparty=alpha, business_date=D1)
    lines = {ln.line_type: ln.amount for ln in statement.lines.all()}
    # collections by component, all funders; the bank's share is what ALPHA's statement says
    assert day.collections_bank == lines["COLLECTION_PRINCIPAL"] + lines["COLLECTION_INTEREST"]
    assert day.collections_total == D("916.80")
    assert set(day.collections) == {"PRINCIPAL", "INTEREST"}
    assert day.disbursed == D("50000.00") and day.disbursed_bank == D("35000.00")
    assert day.disbursed_bank == -lines["DISBURSEMENT"]
    assert day.net_settlement == statement.net_amount
    assert day.quarantined == QuarantinedRow.objects.filter(partner=alpha,
                                                            business_date=D1).count() == 1
    # ours above plus the run's own (no balances file: MISSING_AT_PARTNER), by age in Python
    ages = [b.age_days for b in Break.objects.filter(partner=alpha, status="OPEN")]
    expected = [("0", sum(a == 0 for a in ages)), ("1-2", sum(1 <= a <= 2 for a in ages)),
                ("3-5", sum(3 <= a <= 5 for a in ages)), ("6+", sum(a >= 6 for a in ages))]
    assert day.break_buckets == expected and all(n for _, n in expected)
    assert day.breaks_open == len(ages)
    assert [a.business_date for a in day.alerts] == [D1] and board.alerts_open == 1
    # the portfolio of D1 by program (named) and DPD class: 7 open loans, all current
    (line,) = board.portfolio
    assert line["program"] == "cash" and line["loans"] == Loan.objects.count() == 7
    assert line["as_of"] == D1 and board.portfolio_pending == []
    assert line["principal"] == sum(ln.principal_outstanding for ln in Loan.objects.all())
    assert line["cells"][0] == (7, line["principal"])
    assert [label for label, _ in board.trends["collections"]] == [D1.isoformat()]
    html = response.content.decode()
    assert 'id="trend-collections"' in html and "<svg" in html and "cdn" not in html.lower()
    # money with thousands separators and two decimals
    assert '<td class="num disbursed">50,000.00 (35,000.00)</td>' in html
    assert f'<td class="num">{line["principal"]:,.2f}</td>' in html and line["principal"] > 10000
    assert f'<th class="num">{day.collections_total:,.2f}</th>' in html
    assert f'href="/reports/statements/{statement.pk}/"' in html
    # the net settlement's payment state: the statement's status and, unpaid, its due date
    assert statement.status == "ISSUED" and statement.due_date
    assert (f'<td class="statement-status status-ISSUED">Issued to the counterparty, due '
            f'{statement.due_date.isoformat()}</td>') in html

    out = io.StringIO()
    call_command("dashboard_timing", "--repeat", "1", stdout=out)
    printed = out.getvalue()
    assert "loans in the database: 7" in printed
    assert "portfolio snapshot (once per settled day, by a worker): " in printed
    timed = re.search(r"render 2: [0-9.]+ ms, ([0-9]+) queries", printed)
    assert timed and 0 < int(timed[1]) <= queries_d1, printed


def test_breaks_list_is_open_by_default_with_filters_and_csv(db, staff_client):
    alpha = Partner.objects.create(code="ALPHA", legal_name="阿尔法 platform", kind="PLATFORM")
    beta = Partner.objects.create(code="BETA", legal_name="贝塔", kind="PLATFORM")
    day = date(2026, 3, 20)
    _break(alpha, "A0", "AMOUNT_MISMATCH", day, day, difference=D("0.01"),
           owner=response_user(staff_client))
    _break(alpha, "A2", "DPD_MISMATCH", day - timedelta(days=2), day)
    _break(alpha, "A7", "AMOUNT_MISMATCH", day - timedelta(days=7), day, difference=D("-5.00"),
           field="INTEREST")
    _break(beta, "B4", "MISSING_AT_PARTNER", day - timedelta(days=4), day)
    _break(beta, "B1", "AMOUNT_MISMATCH", day - timedelta(days=1), day - timedelta(days=1),
           status="AUTO_CLEARED")

    def listed(**params) -> list[str]:
        response = staff_client.get("/reports/breaks/", params)
        assert response.status_code == 200
        return [b.loan_no for b in response.context["page"]]

    assert listed() == ["A7", "B4", "A2", "A0"]  # open only, oldest first
    assert listed(status="") == ["A7", "B4", "A2", "B1", "A0"]
    assert listed(status="AUTO_CLEARED") == ["B1"]
    assert listed(partner=beta.pk) == ["B4"]
    assert listed(kind="AMOUNT_MISMATCH") == ["A7", "A0"]
    assert listed(age="0") == ["A0"]
    assert listed(age="1-2") == ["A2"]
    assert listed(age="3-5") == ["B4"]
    assert listed(age="6+") == ["A7"]
    assert listed(partner=alpha.pk, age="6+", kind="DPD_MISMATCH") == []
    assert listed(field="INTEREST") == ["A7"]
    assert listed(owner="me") == ["A0"]
    assert listed(owner="none") == ["A7", "B4", "A2"]

    response = staff_client.get("/reports/breaks/export.csv", {"partner": alpha.pk})
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(r["loan_no"], int(r["age_days"]), r["status"]) for r in rows] == [
        ("A7", 7, "OPEN"), ("A2", 2, "OPEN"), ("A0", 0, "OPEN")]
    assert sum(D(r["difference"]) for r in rows if r["difference"]) == D("-4.99")
