"""A partner reads its own statements and reconciliation breaks over the API, and no one else's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from lending.models import Break, SettlementRun, Statement, StatementLine
from lending.reconciliation import services
from partners import services as partner_services
from partners.models import PartnerUser
from tests.factories import reconciliation as rf

pytestmark = pytest.mark.django_db

D = date(2026, 6, 16)


def _client_for(partner) -> APIClient:
    user = get_user_model().objects.create_user(f"api_{partner.code.lower()}",
                                                password="x-pass-1234")
    link = PartnerUser.objects.create(user=user, partner=partner)
    _, raw = partner_services.api_key_issue(partner_user=link, label="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _statement(partner, day: date, net: str) -> Statement:
    run = SettlementRun.objects.create(partner=partner, business_date=day, state="DONE")
    st = Statement.objects.create(counterparty=partner, business_date=day, run=run,
                                  net_amount=Decimal(net))
    StatementLine.objects.create(statement=st, line_type="COLLECTIONS", amount=Decimal(net),
                                 description="collections at the bank's share")
    StatementLine.objects.create(statement=st, line_type="SERVICE_FEE", amount=Decimal("-1.00"),
                                 description="service fee")
    return st


@pytest.fixture
def world():
    alpha, alpha_program = rf.platform_with_program("ALPHA")
    beta, beta_program = rf.platform_with_program("BETA")
    rf.loans(alpha_program, ["A1", "A2"])
    rf.loans(beta_program, ["B1"])
    rf.balances_file(alpha, D, [("A1", "9990.00", "50.00", "0.00", 0, "ACTIVE")])
    rf.balances_file(beta, D, [("B1", "10000.00", "50.00", "0.00", 7, "ACTIVE")])
    services.breaks_reconcile(partner_id=alpha.pk, business_date=D)
    services.breaks_reconcile(partner_id=beta.pk, business_date=D)
    return {"alpha": alpha, "beta": beta,
            "alpha_st": _statement(alpha, D, "100.50"),
            "alpha_old": _statement(alpha, date(2026, 6, 15), "-20.00"),
            "beta_st": _statement(beta, D, "7.00")}


def test_partner_lists_and_reads_its_own_statements_with_lines(world):
    client = _client_for(world["alpha"])
    resp = client.get("/api/v1/statements/")
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["business_date"] for r in results] == ["2026-06-16", "2026-06-15"]
    assert results[0]["net_amount"] == "100.50" and results[1]["net_amount"] == "-20.00"
    assert [ln["line_type"] for ln in results[0]["lines"]] == ["COLLECTIONS", "SERVICE_FEE"]
    one = client.get(f"/api/v1/statements/{world['alpha_st'].pk}/")
    assert one.status_code == 200 and one.json()["lines"][1]["amount"] == "-1.00"
    dated = client.get("/api/v1/statements/", {"business_date": "2026-06-15"}).json()
    assert [r["net_amount"] for r in dated["results"]] == ["-20.00"]


def test_statements_filter_by_a_date_range_and_refuse_unknown_parameters(world):
    client = _client_for(world["alpha"])

    def dates(**params):
        resp = client.get("/api/v1/statements/", params)
        assert resp.status_code == 200, resp.content
        return [r["business_date"] for r in resp.json()["results"]]

    assert dates(**{"from": "2026-06-16"}) == ["2026-06-16"]
    assert dates(to="2026-06-15") == ["2026-06-15"]
    assert dates(**{"from": "2026-06-15", "to": "2026-06-16"}) == ["2026-06-16", "2026-06-15"]
    assert dates(**{"from": "2026-06-17"}) == []
    assert dates(**{"from": "2026-06-16", "to": "2026-06-15"}) == []  # an empty range
    # a filter is never silently ignored: a bad date, an unknown name
    assert client.get("/api/v1/statements/", {"to": "16/06/2026"}).status_code == 400
    unknown = client.get("/api/v1/statements/", {"date_from": "2026-06-16"})
    assert unknown.status_code == 400
    assert "unknown query parameter" in unknown.json()["date_from"][0]
    # the pagination's own parameters are known; given empty they are a 400 like the others
    assert client.get("/api/v1/statements/", {"limit": ""}).status_code == 400
    assert client.get("/api/v1/statements/", {"limit": 1, "offset": 1}).json()["count"] == 2
    # breaks and files take the same range
    assert client.get("/api/v1/breaks/", {"from": "2026-06-17"}).json()["count"] == 0
    assert client.get("/api/v1/breaks/", {"to": "2026-06-16"}).json()["count"] == 2
    assert client.get("/api/v1/files/", {"from": "2026-06-16", "to": "2026-06-16"}
                      ).status_code == 200
    assert client.get("/api/v1/files/", {"since": "2026-06-16"}).status_code == 400


def test_another_partners_statement_is_not_found(world):
    client = _client_for(world["alpha"])
    assert client.get(f"/api/v1/statements/{world['beta_st'].pk}/").status_code == 404
    listed = client.get("/api/v1/statements/").json()["results"]
    assert world["beta_st"].pk not in [r["id"] for r in listed]


def test_partner_lists_its_breaks_with_filters(world):
    client = _client_for(world["alpha"])
    rows = client.get("/api/v1/breaks/").json()["results"]
    assert sorted((r["loan_no"], r["kind"], r["field"]) for r in rows) == [
        ("A1", "AMOUNT_MISMATCH", "PRINCIPAL"), ("A2", "MISSING_AT_PARTNER", "")]
    a1 = next(r for r in rows if r["loan_no"] == "A1")
    assert (a1["ours"], a1["theirs"], a1["difference"], a1["status"], a1["age_days"]) == \
        ("10000.00", "9990.00", "-10.00", "OPEN", 0)
    Break.objects.filter(loan_no="A2").update(status="RESOLVED", resolution_note="ok",
                                              resolved_at="2026-06-17T10:00:00Z")
    assert [r["loan_no"] for r in client.get("/api/v1/breaks/", {"status": "OPEN"})
            .json()["results"]] == ["A1"]
    assert client.get("/api/v1/breaks/", {"business_date": "2026-06-17"}).json()["count"] == 0
    assert client.get("/api/v1/breaks/", {"status": "NOPE"}).status_code == 400
    assert client.get("/api/v1/breaks/", {"business_date": "x"}).status_code == 400
    beta_rows = _client_for(world["beta"]).get("/api/v1/breaks/").json()["results"]
    assert [(r["loan_no"], r["kind"]) for r in beta_rows] == [("B1", "DPD_MISMATCH")]


def test_unauthenticated_and_non_partner_users_are_refused(world, staff_client):
    anon = APIClient()
    for url in ["/api/v1/statements/", f"/api/v1/statements/{world['alpha_st'].pk}/",
                "/api/v1/breaks/"]:
        assert anon.get(url).status_code in (401, 403)
        assert staff_client.get(url).status_code == 403  # staff, but acts for no partner
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Api-Key pk_not-a-key")
    assert bad.get("/api/v1/breaks/").status_code == 401
