"""Issue 21, regulatory limits in the admin: the risk role asks for thresholds and the bank's
figures (a four-eyes request an approver approves) and enters related-party groups (a bad
value is a form error, never a 500); the auditor reads them but cannot change them; every
change is in the audit trail with who made it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from controls import limits
from controls.models import (
    ChangeRequest,
    LimitBankFigure,
    LimitRelatedParty,
    LimitThreshold,
)
from tests.factories import lending as f
from tests.functional.controls.helpers import role_user

pytestmark = pytest.mark.django_db

PAGES = ("limitthreshold", "limitbankfigure", "limitrelatedpartygroup")


def _url(model: str, view: str = "changelist", *args) -> str:
    return reverse(f"admin:controls_{model}_{view}", args=args)


def _audit_rows(client) -> list[dict]:
    resp = client.get(reverse("admin:controls_audit_export"))
    assert resp.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode())))


def _messages(resp) -> str:
    return " | ".join(str(m) for m in resp.context["messages"])


def _approve(client, req_pk: int):
    return client.post(reverse("admin:controls_changerequest_changelist"), {
        "action": "approve_requests", ACTION_CHECKBOX_NAME: [req_pk]}, follow=True)


def test_risk_asks_for_a_threshold_effective_tomorrow_an_approver_approves_it(as_user):
    """The add form drafts a LIMIT_THRESHOLD request (four eyes): nothing is written until a
    second person with the approver role approves it; the audit trail names both."""
    risk = as_user(role_user("rita", "risk", "approver"))  # approves others', not her own
    for model in PAGES:
        assert risk.get(_url(model)).status_code == 200, model
        assert risk.get(_url(model, "add")).status_code == 200, model
    tomorrow = timezone.localdate() + timedelta(days=1)
    resp = risk.post(_url("limitthreshold", "add"), {
        "code": "ALL_IN_COST", "threshold": "0.2000", "warning_level": "0.8500",
        "effective_from": tomorrow.isoformat(), "note": "cap lowered"})
    req = ChangeRequest.objects.get(kind="LIMIT_THRESHOLD")
    assert resp.status_code == 302 and resp["Location"] == _url("changerequest", "change",
                                                                  req.pk)
    assert (req.status, req.target_id, req.created_by.username) == ("PENDING_APPROVAL", 0, "rita")
    assert not LimitThreshold.objects.filter(effective_from=tomorrow).exists()
    assert "another person must approve" in _messages(_approve(risk, req.pk))
    assert not LimitThreshold.objects.filter(effective_from=tomorrow).exists()

    _approve(as_user(role_user("ann", "approver")), req.pk)
    assert limits.threshold_on("ALL_IN_COST", timezone.localdate()).threshold == Decimal("0.24")
    assert limits.threshold_on("ALL_IN_COST", tomorrow).warning_at == Decimal("0.17")

    figure = LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=Decimal("1000"),
                                            effective_from=date(2026, 1, 1))
    resp = risk.post(_url("limitbankfigure", "change", figure.pk), {
        "amount": "1500.00", "effective_from": "2026-01-01", "note": "restated"})
    figure_req = ChangeRequest.objects.get(kind="LIMIT_BANK_FIGURE")
    assert resp.status_code == 302 and figure_req.payload == {"amount": "1500.00",
                                                              "note": "restated"}
    figure.refresh_from_db()
    assert figure.amount == Decimal("1000")
    _approve(as_user(role_user("ann2", "approver")), figure_req.pk)
    figure.refresh_from_db()
    assert (figure.amount, figure.note) == (Decimal("1500.00"), "restated")

    auditor = as_user(role_user("audrey", "auditor"))
    events = {(r["model"], r["event"], r["username"]) for r in _audit_rows(auditor)}
    assert ("controls.ChangeRequest", "insert", "rita") in events
    assert ("controls.LimitThreshold", "insert", "ann") in events
    assert ("controls.LimitBankFigure", "update", "ann2") in events


def test_the_limit_forms_write_nothing_themselves(as_user):
    """Saving a form that changes nothing drafts no request; a refused request leaves the row
    as it was and says why."""
    figure = LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=Decimal("1000"),
                                            effective_from=date(2026, 1, 1))
    risk = as_user(role_user("rita", "risk"))
    page = risk.get(_url("limitbankfigure", "change", figure.pk)).content.decode()
    assert 'name="figure"' not in page  # what a row is about is not changed, a new row is
    data = {"amount": "1000.00", "effective_from": "2026-01-01", "note": ""}
    resp = risk.post(_url("limitbankfigure", "change", figure.pk), data, follow=True)
    assert "nothing changed" in _messages(resp)
    assert not ChangeRequest.objects.exists()
    risk.post(_url("limitbankfigure", "change", figure.pk), {**data, "amount": "2000.00"})
    resp = risk.post(_url("limitbankfigure", "change", figure.pk), {**data, "amount": "3000.00"},
                     follow=True)
    assert "still open" in _messages(resp)
    assert ChangeRequest.objects.count() == 1
    figure.refresh_from_db()
    assert figure.amount == Decimal("1000")


def test_bad_values_are_form_errors_not_500(as_user):
    risk = as_user(role_user("rita", "risk"))
    for data, error in (
        ({"threshold": "0", "warning_level": "0.90"}, "limit_threshold_positive"),
        ({"threshold": "0.25", "warning_level": "1.5"}, "limit_threshold_warning_level_range"),
        ({"threshold": "0.25", "warning_level": "0.90", "effective_from": "2000-01-01"},
         "already exists"),  # the seeded row of that day
    ):
        resp = risk.post(_url("limitthreshold", "add"), {
            "code": "PARTNER_CAPITAL", "effective_from": "2030-01-01", **data})
        assert resp.status_code == 200 and error in resp.content.decode(), data
    assert LimitThreshold.objects.filter(code="PARTNER_CAPITAL").count() == 1


def test_related_party_groups_one_group_per_partner(as_user):
    a, b = f.partner("RPA"), f.partner("RPB")
    risk = as_user(role_user("rita", "risk"))

    def post(name, *partners):
        data = {"name": name, "note": "", "members-TOTAL_FORMS": str(len(partners)),
                "members-INITIAL_FORMS": "0", "members-MIN_NUM_FORMS": "0",
                "members-MAX_NUM_FORMS": "1000"}
        for i, p in enumerate(partners):
            data[f"members-{i}-partner"] = str(p.pk)
        return risk.post(_url("limitrelatedpartygroup", "add"), data)

    assert post("Group A", a, b).status_code == 302
    assert set(LimitRelatedParty.objects.values_list("partner__code", flat=True)) == {
        "RPA", "RPB"}
    resp = post("Group B", b)
    assert resp.status_code == 200 and "already exists" in resp.content.decode()
    assert risk.get(_url("limitrelatedpartygroup")).content.decode().count("RPA, RPB") == 1


def test_the_auditor_reads_the_limits_and_changes_nothing_other_roles_do_not_see_them(as_user):
    auditor = as_user(role_user("audrey", "auditor"))
    threshold = LimitThreshold.objects.get(code="BORROWER")
    for model in PAGES:
        assert auditor.get(_url(model)).status_code == 200, model
        assert auditor.get(_url(model, "add")).status_code == 403, model
    assert "200000" in auditor.get(_url("limitthreshold")).content.decode()
    resp = auditor.post(_url("limitthreshold", "change", threshold.pk), {
        "code": "BORROWER", "threshold": "1", "warning_level": "0.90",
        "effective_from": "2000-01-01", "note": ""})
    assert resp.status_code == 403
    threshold.refresh_from_db()
    assert threshold.threshold == Decimal("200000")
    for role in ("operator", "approver", "finance", "administrator"):
        client = as_user(role_user(f"x-{role}", role))
        for model in PAGES:
            assert client.get(_url(model)).status_code == 403, (role, model)


def test_risk_holds_the_limit_models_permissions_not_their_audit_event_tables():
    risk = role_user("rita", "risk")
    for model in ("limitthreshold", "limitbankfigure", "limitrelatedpartygroup",
                  "limitrelatedparty"):
        for verb in ("view", "add", "change"):
            assert risk.has_perm(f"controls.{verb}_{model}"), (verb, model)
    assert not risk.has_perm("controls.add_limitthresholdevent")
    assert not risk.has_perm("controls.change_limitbankfigureevent")
    auditor = role_user("audrey", "auditor")
    assert auditor.has_perm("controls.view_limitthreshold")
    assert not auditor.has_perm("controls.change_limitthreshold")
