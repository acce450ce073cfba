"""Partner reconciliation pages (issue 22): a partner user logs in and sees only its own
statements (of DONE runs, with the loans behind each line), breaks, files with their quarantined
rows and the bank's loan snapshot for a date, with from/to filters and CSV/XLSX downloads; every
partner page that takes an object answers 404 for another partner's object (listed from the URL
conf, acceptance 5); staff without a partner link get 403.

Data: the golden world (ALPHA 70/30 with the bank, GUARD its guarantor): two loans on D0, on D1
a payment on L1 and one for a loan the bank never had (quarantined UNKNOWN_LOAN)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from openpyxl import load_workbook

from lending.reconciliation.models import Break
from lending.settlement.models import SettlementRun, Statement, StatementLine
from partners import services as partner_services
from partners.models import InboundFile, Partner, PartnerUser
from tests.golden.conftest import golden  # noqa: F401 - the golden world fixture
from tests.golden.helpers import loan_row, pay_row, settle

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 1, 15), date(2026, 2, 16)


def _user(code: str, name: str):
    user = get_user_model().objects.create_user(name, password="x")
    link = PartnerUser.objects.create(user=user, partner=Partner.objects.get(code=code))
    return user, link


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def world(golden):  # noqa: F811
    settle(D0, loans=[loan_row("L1"), loan_row("L2", principal="5000.00")])
    settle(D1, repayments=[pay_row("T1", "L1", D1, "916.80"),
                           pay_row("TX", "NOPE", D1, "50.00")])
    alpha_user, alpha_link = _user("ALPHA", "alpha-user")
    guard_user, _ = _user("GUARD", "guard-user")
    alpha, guard = Partner.objects.get(code="ALPHA"), Partner.objects.get(code="GUARD")
    Break.objects.create(partner=alpha, loan_no="L1", kind="AMOUNT_MISMATCH", field="PRINCIPAL",
                         business_date=D0, last_seen_on=D1, ours="1.00", theirs="2.00",
                         difference=D("1.00"))
    Break.objects.create(partner=alpha, loan_no="L2", kind="DPD_MISMATCH",
                         business_date=D1, last_seen_on=D1, ours="0", theirs="1")
    Break.objects.create(partner=guard, loan_no="G-ONLY", kind="MISSING_AT_BANK",
                         business_date=D1, last_seen_on=D1, status="RESOLVED",
                         resolution_note="guard's own", resolved_at=timezone.now())
    return {"alpha": _client(alpha_user), "guard": _client(guard_user),
            "alpha_link": alpha_link, "alpha_user": alpha_user}


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    ws = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert ws.freeze_panes == "A2"
    header, *rows = [[c.value for c in r] for r in ws.iter_rows()]
    return [dict(zip(header, r, strict=True)) for r in rows]


def test_a_partner_sees_only_its_own_statements_of_done_runs(world):
    alpha = world["alpha"]
    own = list(Statement.objects.filter(counterparty__code="ALPHA").order_by("business_date"))
    assert [s.business_date for s in own] == [D0, D1]
    page = alpha.get("/reports/partner/statements/")
    assert page.status_code == 200
    assert [s.pk for s in page.context["page"]] == [own[1].pk, own[0].pk]
    # from/to bound the business date
    assert [s.business_date for s in alpha.get(
        "/reports/partner/statements/", {"from": D1.isoformat()}).context["page"]] == [D1]
    assert [s.business_date for s in alpha.get(
        "/reports/partner/statements/", {"to": D0.isoformat()}).context["page"]] == [D0]
    assert alpha.get("/reports/partner/statements/", {"from": "not-a-date"}).status_code == 404
    rows = _csv(alpha.get("/reports/partner/statements/export.csv", {"from": D1.isoformat()}))
    assert [(r["business_date"], D(r["net_amount"])) for r in rows] == \
        [(D1.isoformat(), own[1].net_amount)]
    # the page of one statement, its total = Σ lines = net, and its XLSX gives the same
    st = own[1]
    detail = alpha.get(f"/reports/partner/statements/{st.pk}/")
    assert detail.status_code == 200
    view = detail.context["view"]
    assert view.total == sum(r["line"].amount for r in view.lines) == st.net_amount
    xlsx = _xlsx(alpha.get(f"/reports/partner/statements/{st.pk}/export.xlsx"))
    assert D(str(xlsx[-1]["amount"])).quantize(D("0.01")) == view.total
    # a statement of a run that is not DONE is not the partner's to see (yet)
    SettlementRun.objects.filter(pk=st.run_id).update(state="RUNNING")
    assert alpha.get(f"/reports/partner/statements/{st.pk}/").status_code == 404
    assert [s.business_date for s in alpha.get("/reports/partner/statements/")
            .context["page"]] == [D0]


def test_a_line_drills_to_its_loans_and_partner_txn_no(world):
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    line = st.lines.get(line_type="COLLECTION_PRINCIPAL")
    page = world["alpha"].get(f"/reports/partner/statement-lines/{line.pk}/")
    assert page.status_code == 200
    drill = page.context["drill"]
    assert sum(r["amount"] for r in drill.rows) == drill.total == line.amount
    assert {(r["loan_no"], r["txn_no"]) for r in drill.rows} == {("L1", "T1")}
    html = page.content.decode()
    assert "/reports/journal-entries/" not in html and "/reports/loans/" not in html
    rows = _xlsx(world["alpha"].get(f"/reports/partner/statement-lines/{line.pk}/export.xlsx"))
    assert sum(D(str(r["line_amount"])) for r in rows).quantize(D("0.01")) == line.amount


def test_breaks_files_and_snapshot_are_the_partners_own(world):
    alpha, guard = world["alpha"], world["guard"]
    breaks = alpha.get("/reports/partner/breaks/")
    assert {b.loan_no for b in breaks.context["page"]} == {"L1", "L2"}
    assert "G-ONLY" not in breaks.content.decode()
    assert {b.loan_no for b in alpha.get("/reports/partner/breaks/", {
        "from": D1.isoformat(), "to": D1.isoformat()}).context["page"]} == {"L2"}
    assert {r["loan_no"] for r in _csv(alpha.get("/reports/partner/breaks/export.csv"))} == \
        {"L1", "L2"}
    assert {r["loan_no"] for r in _xlsx(guard.get("/reports/partner/breaks/export.xlsx"))} == \
        {"G-ONLY"}
    # files and their quarantined rows
    files = alpha.get("/reports/partner/files/", {"from": D1.isoformat()}).context["page"]
    assert {f.business_date for f in files} == {D1}
    repayments = InboundFile.objects.get(partner__code="ALPHA", business_date=D1,
                                         kind="repayments")
    page = alpha.get(f"/reports/partner/files/{repayments.pk}/")
    assert [q.reason for q in page.context["page"]] == ["UNKNOWN_LOAN"]
    rows = _csv(alpha.get(f"/reports/partner/files/{repayments.pk}/export.csv"))
    assert [(r["reason"], D(r["amount"])) for r in rows] == [("UNKNOWN_LOAN", D("50.00"))]
    assert guard.get("/reports/partner/files/").context["page"].paginator.count == 0
    # the bank's loan snapshot for a date: the partner's loans, theirs only
    snap = alpha.get("/reports/partner/snapshot/", {"date": D1.isoformat()})
    assert snap.context["count"] == 2
    rows = _xlsx(alpha.get("/reports/partner/snapshot/export.xlsx", {"date": D1.isoformat()}))
    assert sorted(r["loan_no"] for r in rows) == ["L1", "L2"]
    assert all(isinstance(r["principal_outstanding"], int | float) for r in rows)
    csv_rows = _csv(alpha.get("/reports/partner/snapshot/export.csv", {"date": D1.isoformat()}))
    assert {r["loan_no"]: D(r["principal_outstanding"]) for r in csv_rows} == \
        {r["loan_no"]: D(str(r["principal_outstanding"])).quantize(D("0.01")) for r in rows}
    assert guard.get("/reports/partner/snapshot/", {"date": D1.isoformat()}).context[
        "count"] == 0


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_every_partner_page_of_another_partners_object_is_404(world):
    """Acceptance 5 for the partner pages, listed from the URL conf: each route that takes an
    object gets ALPHA's object; GUARD's user gets 404 (never 403), ALPHA's 200."""
    st = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    objects = {
        "statement_id": st.pk,
        "line_id": StatementLine.objects.filter(statement=st).first().pk,
        "file_id": InboundFile.objects.filter(partner__code="ALPHA").first().pk,
    }
    routes = [r for r in _walk(get_resolver().url_patterns) if r.startswith("reports/partner/")]
    with_object = [r for r in routes if "<" in r]
    assert len(with_object) >= 9, with_object
    for route in with_object:
        param = route.split("<int:")[1].split(">")[0]
        path = "/" + route.replace(f"<int:{param}>", str(objects[param]))
        assert world["guard"].get(path).status_code == 404, path
        assert world["alpha"].get(path).status_code == 200, path
    for route in routes:  # every partner page: refused to staff with no partner link
        if "<" in route or route.endswith("login/"):
            continue
        staff = get_user_model().objects.create_superuser(f"s-{len(route)}-{route.count('/')}"
                                                          f"-{hash(route) % 10**6}", "",
                                                          "x")
        assert _client(staff).get("/" + route).status_code == 403, route
        assert Client().get("/" + route).status_code == 302, route  # to the partner login


def test_api_key_opens_the_partner_pages_and_a_revoked_one_does_not(world):
    key, raw = partner_services.api_key_issue(partner_user=world["alpha_link"], label="t")
    c = Client()
    rows = _csv(c.get("/reports/partner/statements/export.csv",
                      HTTP_AUTHORIZATION=f"Api-Key {raw}"))
    assert {r["counterparty"] for r in rows} == {"ALPHA"} and len(rows) == 2
    partner_services.api_key_revoke(key=key)
    assert c.get("/reports/partner/statements/", HTTP_AUTHORIZATION=f"Api-Key {raw}"
                 ).status_code == 403
    # a terminated partner's user is refused
    Partner.objects.filter(code="ALPHA").update(status="TERMINATED")
    assert world["alpha"].get("/reports/partner/statements/").status_code == 403


def test_partner_login_page_logs_a_partner_user_in(world):
    c = Client()
    assert c.get(reverse("reports:partner-login")).status_code == 200
    world["alpha_user"].set_password("partner-pass-1")
    world["alpha_user"].save()
    response = c.post(reverse("reports:partner-login"),
                      {"username": "alpha-user", "password": "partner-pass-1"})
    assert response.status_code == 302 and response["Location"] == "/reports/partner/"
    assert c.get("/reports/partner/").status_code == 200


def test_the_demo_makes_one_partner_user_per_platform(db):
    from lending import demo

    demo.demo_setup()
    demo.demo_setup()  # idempotent
    logins = demo.partner_logins()
    assert logins == [("ALPHA", "alpha-partner"), ("BETA", "beta-partner")]
    for code, username in logins:
        link = PartnerUser.objects.get(user__username=username)
        assert link.partner.code == code and not link.user.is_staff
        c = Client()
        response = c.post(reverse("reports:partner-login"),
                          {"username": username, "password": demo.PARTNER_PASSWORD})
        assert response.status_code == 302, username
        assert c.get("/reports/partner/").context["partner"].code == code


def _object_id(route: str, objs: dict) -> int:
    """ALPHA's object of the kind a route takes (a new kind of route must be added here)."""
    for part, key in (("statement-lines/", "statement_line"), ("journal-lines/", "journal_line"),
                      ("journal-entries/", "entry"), ("loans/", "loan"),
                      ("statements/", "statement"), ("files/", "file")):
        if part in route:
            return objs[key]
    raise KeyError(f"no object for {route}: add it to _object_id")


def test_another_partner_gets_403_or_404_on_every_page_and_endpoint_of_an_object(world):
    """Acceptance 5, listed from the URL conf: every page and API endpoint (outside the admin,
    whose pages are staff-only) that takes an object, given ALPHA's, answers GUARD's user —
    logged in, or with its API key — 403 or 404."""
    from ledger.models import JournalLine
    from lending.models import Loan

    st = Statement.objects.get(counterparty__code="ALPHA", business_date=D1)
    line = JournalLine.objects.filter(counterparty="ALPHA").first()
    objs = {"statement": st.pk, "statement_line": st.lines.first().pk,
            "journal_line": line.pk, "entry": line.entry_id,
            "loan": Loan.objects.get(loan_no="L1").pk,
            "file": InboundFile.objects.filter(partner__code="ALPHA").first().pk}
    link = PartnerUser.objects.get(user__username="guard-user")
    _, raw = partner_services.api_key_issue(partner_user=link, label="t")
    routes = [r for r in _walk(get_resolver().url_patterns)
              if not r.startswith("admin/") and "<" in r.replace("<str:version>", "")]
    assert len(routes) >= 20, routes
    wrong = []
    for route in routes:
        path = "/" + route.replace("<str:version>", "v1").replace("<str:code>", "ALPHA") \
            .replace("<str:business_date>", D1.isoformat())
        if "<int:" in path:
            param = path.split("<int:")[1].split(">")[0]
            path = path.replace(f"<int:{param}>", str(_object_id(route, objs)))
        for how, response in (("session", world["guard"].get(path)),
                              ("api key", Client().get(path,
                                                       HTTP_AUTHORIZATION=f"Api-Key {raw}"))):
            if response.status_code not in (403, 404):
                wrong.append(f"{path} ({how}): {response.status_code}")
    assert wrong == []
