"""Issue 21, R5: the program form refuses a maximum annual rate above the all-in cost cap in
force today (a form error, nothing saved, no request drafted); at the cap it is accepted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controls.models import ChangeRequest, LimitThreshold
from tests.factories import lending as f
from tests.functional.controls.helpers import admin_form_data, role_user

pytestmark = pytest.mark.django_db


def test_the_program_form_refuses_a_rate_above_the_cap_and_takes_one_at_it(as_user):
    version = f.active_agreement(code="AG-ALPHA", platform=f.partner("ALPHA"))
    program = f.program(code="CASH", version=version, max_annual_rate=Decimal("0.20"))
    client = as_user(role_user("rick", "risk"))
    url = reverse("admin:lending_program_change", args=[program.pk])
    data = admin_form_data(client.get(url))

    resp = client.post(url, {**data, "max_annual_rate": "0.24000001"})
    assert resp.status_code == 200
    assert "R5 all-in cost: the maximum annual rate 0.24000001 is above the 24.00% cap" in (
        resp.content.decode())
    assert not ChangeRequest.objects.exists()

    resp = client.post(url, {**data, "max_annual_rate": "0.24"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert ChangeRequest.objects.get().payload == {"max_annual_rate": "0.24"}

    # a lower cap from tomorrow does not refuse today's form
    LimitThreshold.objects.create(code="ALL_IN_COST", threshold=Decimal("0.18"),
                                  effective_from=timezone.localdate() + timedelta(days=1))
    ChangeRequest.objects.all().delete()
    resp = client.post(url, {**data, "max_annual_rate": "0.22"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
