"""Issue 21, acceptance 4, "and the alert shown" for R2 and R3 (R1 and R4/R5 are shown on the
run list in test_limit_r1.py and test_limits.py): a run's R2 breach and R3 warning are on the
run list's banner and on the run's own page, to an operator and to the auditor; acknowledged,
the banner goes and the run's page still lists them."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from controls.models import LimitBankFigure
from lending.settlement import limits as run_limits
from lending.settlement.models import Alert
from tests.functional.controls.helpers import role_user
from tests.integration.controls.test_limits import DAY, _book, _figures, _loan, _program, _run

pytestmark = pytest.mark.django_db

RUNS = "admin:lending_settlementrun_changelist"


def _page(user, url) -> str:
    client = Client()
    client.force_login(user)
    resp = client.get(url)
    assert resp.status_code == 200
    return resp.content.decode()


def test_r2_and_r3_alerts_are_shown_on_the_run_list_and_the_runs_page():
    LimitBankFigure.objects.all().delete()
    a = _program("RA")
    _book(_loan(a, "A1", "10000.00"))
    # bank's share 7,000: R2 7,000 / 27,999.99 > 0.25 (a breach), R3 7,000 / 15,000 = 0.4667,
    # at or above the warning level 0.45 and below 0.50 (a warning)
    _figures("27999.99", "15000")
    run = _run(a)
    out = run_limits.limit_breaches_alert(run)
    assert (out["r2"]["level"], out["r3"]["level"]) == ("BREACH", "WARNING")
    keys = {f"LIMIT_BREACH:RA:{DAY}:R2_BREACH", f"LIMIT_BREACH:BANK:{DAY}:R3_WARNING"}
    assert set(Alert.objects.values_list("key", flat=True)) == keys
    messages = list(Alert.objects.order_by("key").values_list("message", flat=True))
    run_page = reverse("admin:lending_settlementrun_change", args=[run.pk])

    operator, auditor = role_user("olga", "operator"), role_user("audrey", "auditor")
    for user in (operator, auditor):
        listed, detail = _page(user, reverse(RUNS)), _page(user, run_page)
        for message in messages:
            shown = message.replace("'", "&#x27;")
            assert shown in listed, (user, message)  # the banner
            assert shown in detail, (user, message)  # the run's alerts
    assert "BREACH R2" in messages[1] and "WARNING R3" in messages[0]

    client = Client()
    client.force_login(operator)
    client.post(reverse("admin:lending_alert_changelist"), {
        "action": "acknowledge",
        ACTION_CHECKBOX_NAME: list(Alert.objects.values_list("pk", flat=True))})
    assert not Alert.objects.filter(acknowledged_at__isnull=True).exists()
    listed, detail = _page(operator, reverse(RUNS)), _page(operator, run_page)
    assert "BREACH R2" not in listed and "BREACH R2" in detail
    assert "(acknowledged)" in detail


def test_below_the_warning_level_nothing_is_shown():
    LimitBankFigure.objects.all().delete()
    a = _program("RA")
    _book(_loan(a, "A1", "10000.00"))
    _figures("31200", "15600")  # R2 0.224359 < 0.225, R3 0.448718 < 0.45
    run = _run(a)
    run_limits.limit_breaches_alert(run)
    assert not Alert.objects.exists()
    listed = _page(role_user("olga", "operator"), reverse(RUNS))
    for said in ("BREACH R2", "WARNING R2", "BREACH R3", "WARNING R3"):
        assert said not in listed
