"""Issue 21, finding 3 (booking): the settlement run books no new loan of a partner that is not
ACTIVE, even from a loans file that staff imported with `manage.py import_partner_file` (the
API refuses such a file; staff take files for run-off). The loans are quarantined with a
message that names the partner's status; an ACTIVE partner's same file is booked."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from django.core.management import call_command

from lending.models import Loan
from lending.settlement import runner
from lending.settlement.models import RunState
from partners.models import Partner, QuarantinedRow
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)


def _import_day_as_staff(tmp_path, capsys, code: str) -> list[str]:
    """The day's four files of `code` (three new loans), imported as staff do; the loan numbers."""
    loans = ops._loans(code, DAY, random.Random(f"{code}:{DAY}"), 3)
    files = ops.build(code, DAY, {"loans": loans, "repayments": [], "reversals": [],
                                  "balances": []})
    for kind in ops.KINDS:
        name, data, control = files[kind]
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"{name}.ctl").write_bytes(control)
        call_command("import_partner_file", str(tmp_path / name))
        answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert answer["status"] == "ACCEPTED", answer
    return [row[0] for row in loans]


@pytest.mark.parametrize("status", ["SUSPENDED", "TERMINATED"])
def test_run_refuses_new_loans_of_a_partner_that_is_not_active(status, tmp_path, capsys):
    ops.world_setup()
    partner = Partner.objects.get(code="OPA")
    Partner.objects.filter(pk=partner.pk).update(status=status)
    loan_nos = _import_day_as_staff(tmp_path, capsys, "OPA")

    run = runner.settlement_run(partner=Partner.objects.get(pk=partner.pk), business_date=DAY)

    assert (run.state, run.error) == (RunState.DONE, "")
    assert not Loan.objects.filter(partner=partner).exists()
    rows = QuarantinedRow.objects.filter(partner=partner, business_date=DAY,
                                         file__kind="loans").order_by("row_no")
    assert [r.raw.split(",")[0] for r in rows] == loan_nos
    for row in rows:
        assert (row.reason, row.column, row.stage) == ("LIMIT_EXCEEDED", "partner", "APPLY")
        assert f"partner OPA is {status}" in row.message
        assert "not ACTIVE" in row.message


def test_an_active_partner_same_file_is_booked(tmp_path, capsys):
    ops.world_setup()
    partner = Partner.objects.get(code="OPA")
    loan_nos = _import_day_as_staff(tmp_path, capsys, "OPA")

    run = runner.settlement_run(partner=partner, business_date=DAY)

    assert (run.state, run.error) == (RunState.DONE, "")
    assert sorted(Loan.objects.filter(partner=partner).values_list("loan_no", flat=True)) == \
        sorted(loan_nos)
    assert not QuarantinedRow.objects.filter(partner=partner, business_date=DAY).exists()
