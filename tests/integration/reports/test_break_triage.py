"""Breaks triage on the staff breaks list (issue 22): an operator ticks open breaks and assigns
them to an owner in bulk, or resolves them with a note that is stored with who and when; the
note, who and when show on the list and in its exports. Roles without `work_breaks` see no
triage and are refused."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from lending.reconciliation.models import Break
from tests.factories import lending as f
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

D0, D1 = date(2026, 3, 2), date(2026, 3, 5)


@pytest.fixture
def breaks():
    alpha = f.partner("ALPHA")
    return [Break.objects.create(partner=alpha, loan_no=f"L{n}", kind="AMOUNT_MISMATCH",
                                 field="PRINCIPAL", business_date=D0, last_seen_on=D1,
                                 ours="1.00", theirs="2.00") for n in range(3)]


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_an_operator_assigns_ticked_breaks_to_an_owner_in_bulk(breaks):
    mei, lin = role_user("mei", "operator"), role_user("lin", "operator")
    c = _client(mei)
    page = c.get("/reports/breaks/")
    assert page.context["triage"] is not None
    assert set(page.context["triage"].fields["owner"].queryset) == {mei, lin}
    response = c.post("/reports/breaks/triage/", {
        "action": "assign", "owner": lin.pk, "breaks": [breaks[0].pk, breaks[1].pk],
        "next": "/reports/breaks/?kind=AMOUNT_MISMATCH"})
    assert response.status_code == 302
    assert response["Location"] == "/reports/breaks/?kind=AMOUNT_MISMATCH"  # filters kept
    owners = dict(Break.objects.values_list("loan_no", "owner__username"))
    assert owners == {"L0": "lin", "L1": "lin", "L2": None}
    assert [str(m) for m in get_messages(response.wsgi_request)] == \
        ["2 open break(s) assigned to lin."]
    mine = _client(lin).get("/reports/breaks/", {"owner": "me"}).context["page"]
    assert {b.loan_no for b in mine} == {"L0", "L1"}


def test_resolving_stores_the_note_with_who_and_when(breaks):
    mei = role_user("mei", "operator")
    c = _client(mei)
    response = c.post("/reports/breaks/triage/", {
        "action": "resolve", "note": "  timing: paid the next day  ",
        "breaks": [breaks[2].pk]})
    assert response.status_code == 302 and response["Location"] == "/reports/breaks/"
    b = Break.objects.get(pk=breaks[2].pk)
    assert (b.status, b.resolution_note, b.resolved_by) == \
        ("RESOLVED", "timing: paid the next day", mei)
    assert b.resolved_at is not None
    assert Break.objects.filter(status="OPEN").count() == 2
    listed = c.get("/reports/breaks/", {"status": "RESOLVED"})
    html = listed.content.decode()
    assert "timing: paid the next day" in html and "— mei," in html
    body = b"".join(c.get("/reports/breaks/export.csv", {"status": "RESOLVED"})
                    .streaming_content).decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert (row["resolution_note"], row["resolved_by"]) == ("timing: paid the next day", "mei")
    assert row["resolved_at"].startswith(b.resolved_at.isoformat()[:16].replace("T", " "))


def test_no_note_no_owner_or_no_tick_changes_nothing(breaks):
    c = _client(role_user("mei", "operator"))
    for data in ({"action": "resolve", "note": " ", "breaks": [breaks[0].pk]},
                 {"action": "assign", "breaks": [breaks[0].pk]},
                 {"action": "resolve", "note": "x"}):
        response = c.post("/reports/breaks/triage/", data)
        assert response.status_code == 302
        assert list(get_messages(response.wsgi_request)), data  # says why
    assert set(Break.objects.values_list("status", "owner")) == {("OPEN", None)}
    # an outside `next` is not followed; a GET does nothing
    response = c.post("/reports/breaks/triage/", {
        "action": "resolve", "note": "ok", "breaks": [breaks[0].pk],
        "next": "https://evil.example/"})
    assert response["Location"] == "/reports/breaks/"
    assert c.get("/reports/breaks/triage/").status_code == 405


def test_roles_without_work_breaks_see_no_triage_and_are_refused(breaks):
    c = _client(role_user("fin", "finance"))
    assert c.get("/reports/breaks/").context["triage"] is None
    response = c.post("/reports/breaks/triage/", {
        "action": "resolve", "note": "x", "breaks": [breaks[0].pk]})
    assert response.status_code == 403
    assert Break.objects.filter(status="OPEN").count() == 3
