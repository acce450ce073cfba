"""Issue 21, regulatory limits in the admin: the risk role enters thresholds, the bank's figures
and related-party groups (a bad value is a form error, never a 500); the auditor reads them
but cannot change them; every change is in the audit trail with who made it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controls import limits
from controls.models import LimitBankFigure, LimitRelatedParty, LimitThreshold
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


def test_risk_enters_a_threshold_effective_tomorrow_and_the_audit_trail_records_it(as_user):
    risk = as_user(role_user("rita", "risk"))
    for model in PAGES:
        assert risk.get(_url(model)).status_code == 200, model
        assert risk.get(_url(model, "add")).status_code == 200, model
    tomorrow = timezone.localdate() + timedelta(days=1)
    resp = risk.post(_url("limitthreshold", "add"), {
        "code": "ALL_IN_COST", "threshold": "0.2000", "warning_level": "0.8500",
        "effective_from": tomorrow.isoformat(), "note": "cap lowered"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert limits.threshold_on("ALL_IN_COST", timezone.localdate()).threshold == Decimal("0.24")
    assert limits.threshold_on("ALL_IN_COST", tomorrow).warning_at == Decimal("0.17")

    figure = LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=Decimal("1000"),
                                            effective_from=date(2026, 1, 1))
    resp = risk.post(_url("limitbankfigure", "change", figure.pk), {
        "figure": "TOTAL_LOANS", "amount": "1500.00", "effective_from": "2026-01-01",
        "note": "restated"})
    assert resp.status_code == 302
    figure.refresh_from_db()
    assert figure.amount == Decimal("1500.00")

    auditor = as_user(role_user("audrey", "auditor"))
    rows = _audit_rows(auditor)
    events = {(r["model"], r["event"], r["username"]) for r in rows}
    assert ("controls.LimitThreshold", "insert", "rita") in events
    assert ("controls.LimitBankFigure", "update", "rita") in events


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
