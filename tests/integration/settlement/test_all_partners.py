"""The daily run as production runs it (issue 19, acceptance 1 and items 1–2): every platform's
files are in before the all-partner run — `settle --date D` without `--partner`, and the
nightly task — and one partner's run touches only that partner.

Two platforms for four business days, then a third joins: each day every platform's four files
(written from the bank's books as a platform would: tests/factories/operations.py) are
delivered interleaved, then the day is settled for all of them at once. Every run ends DONE,
every check holds, and each partner's fingerprint of every day equals the one it gets when the
same files are settled for that partner alone."""

from __future__ import annotations

import random
from datetime import date

import pytest
from django.core.management import call_command
from django.db import transaction
from rest_framework.test import APIClient

from ledger import checks
from lending import tasks
from lending.models import StagedLoan, StagedRepayment, StagedReversal
from lending.settlement import runner
from lending.settlement.models import RunState, SettlementRun, Statement
from partners import calendar
from partners.models import Partner, PartnerUser
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

DAYS = calendar.business_days
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 13)  # ten business days, no holiday
JOINS = {"OPA": FIRST, "OPB": FIRST, "OPC": date(2026, 11, 6)}  # two, then three platforms


def _rng(code: str, day: date) -> random.Random:
    return random.Random(f"{code}:{day.isoformat()}")


def _deliver_all(day: date, files: dict[str, dict[str, tuple]]) -> None:
    """Every platform's four files, interleaved: a partner's kinds in the contract's order,
    the partners in turn."""
    for kind in ops.KINDS:
        for code in sorted(files):
            answer = ops.deliver(*files[code][kind])
            assert answer["status"] == "ACCEPTED", answer


def _fingerprints(code: str) -> dict[date, str]:
    return dict(SettlementRun.objects.filter(partner__code=code, state=RunState.DONE)
                .values_list("business_date", "fingerprint"))


def test_every_platform_settled_at_once_equals_each_settled_alone(capsys):
    days = DAYS(FIRST, LAST)
    assert len(days) == 10
    sent: dict[str, dict[date, dict[str, tuple]]] = {code: {} for code in JOINS}
    with transaction.atomic():
        ops.world_setup()
        for n, day in enumerate(days):
            files = {}
            for code, joined in JOINS.items():
                if day >= joined:
                    files[code] = ops.build(code, day, ops.day_files(code, day, _rng(code, day)))
                    sent[code][day] = files[code]
            _deliver_all(day, files)
            if n % 2 == 0:
                call_command("settle", date=day, quiet=True)  # no --partner: every platform
            else:
                tasks.settle_day(business_date=day.isoformat())  # what beat runs
            runs = SettlementRun.objects.filter(business_date=day, partner__code__in=files)
            assert sorted((r.partner.code, r.state, r.error) for r in runs) == [
                (code, RunState.DONE, "") for code in sorted(files)]
            # a platform not live yet sent nothing: it waits (and alerts after the cut-off)
            assert set(SettlementRun.objects.filter(business_date=day).exclude(
                partner__code__in=files).values_list("state", flat=True)) <= {RunState.WAITING}
            assert checks.run_checks(as_of=day) == []
        capsys.readouterr()
        call_command("check_ledger")  # exits non-zero with the list on any problem
        together = {code: _fingerprints(code) for code in JOINS}
        moved = SettlementRun.objects.filter(totals__posted__lines__gt=0).count()
        applied = {kind: model.objects.filter(status="APPLIED").count() for kind, model in
                   (("loans", StagedLoan), ("repayments", StagedRepayment),
                    ("reversals", StagedReversal))}
        transaction.set_rollback(True)
    assert moved >= 20, "the days post journals"
    assert applied["loans"] > 30 and applied["repayments"] > 10 and applied["reversals"] >= 1, \
        applied
    assert sum(len(files) for files in sent.values()) == 2 * 10 + 6

    for code in JOINS:
        with transaction.atomic():
            ops.world_setup()
            for day, files in sent[code].items():
                for kind in ops.KINDS:
                    assert ops.deliver(*files[kind])["status"] == "ACCEPTED"
                call_command("settle", date=day, partner=code, quiet=True)
            alone = _fingerprints(code)
            transaction.set_rollback(True)
        assert alone == together[code], code
        assert sorted(alone) == sorted(sent[code]) and all(alone.values())


def test_one_partners_missing_or_unsettled_files_leave_the_others_alone():
    """ALPHA's run used to fail on BETA's unreconciled balances file (checks looked at every
    partner's files of the date); now BETA's state never reaches ALPHA's run."""
    day = date(2026, 11, 2)
    with transaction.atomic():
        ops.world_setup()
        files = {code: ops.build(code, day, ops.day_files(code, day, _rng(code, day)))
                 for code in ("OPA", "OPB")}
        _deliver_all(day, files)
        ops.deliver(*ops.build("OPC", day, ops.day_files("OPC", day, _rng("OPC", day)))["loans"])
        # OPB's files are in but not settled (its balances rows staged, not reconciled), OPC
        # has sent one file of four: OPA's run is DONE all the same.
        run = runner.settlement_run(partner=Partner.objects.get(code="OPA"), business_date=day)
        assert (run.state, run.error) == (RunState.DONE, "")
        assert checks.run_checks(as_of=day, partner_id=run.partner_id) == []
        # without a partner, check_ledger still sees OPB's unreconciled file
        assert any("OPB_balances" in p for p in checks.run_checks(as_of=day))
        opc = runner.settlement_run(partner=Partner.objects.get(code="OPC"), business_date=day)
        assert opc.state == RunState.WAITING and "repayments" in opc.error
        transaction.set_rollback(True)


def test_a_date_settles_only_after_every_earlier_business_day():
    """Settling 11-04 before 11-03 used to pass the gate (it ignored days with no run) and
    leave the sub-ledger off the GL; now the run waits and names the missing day."""
    d1, d2, d3 = DAYS(date(2026, 11, 2), date(2026, 11, 4))
    with transaction.atomic():
        ops.world_setup()
        partner = Partner.objects.get(code="OPA")
        for day in (d1, d2, d3):
            ops_files = ops.build("OPA", day, {"loans": [], "repayments": [], "reversals": [],
                                               "balances": []})
            for kind in ops.KINDS:
                assert ops.deliver(*ops_files[kind])["status"] == "ACCEPTED"
        assert runner.settlement_run(partner=partner, business_date=d1).state == RunState.DONE
        waiting = runner.settlement_run(partner=partner, business_date=d3)
        assert waiting.state == RunState.WAITING
        assert waiting.error == f"business day {d2} is not settled"
        assert runner.settlement_run(partner=partner, business_date=d2).state == RunState.DONE
        assert runner.settlement_run(partner=partner, business_date=d3).state == RunState.DONE
        with pytest.raises(runner.SettlementError, match="not a business day"):
            runner.settlement_run(partner=partner, business_date=date(2026, 11, 7))  # Saturday
        transaction.set_rollback(True)


def test_a_run_that_is_not_done_is_provisional_and_the_partner_does_not_see_it(
        staff_client, django_user_model):
    day = date(2026, 11, 2)
    ops.world_setup()
    partner = Partner.objects.get(code="OPA")
    files = ops.build("OPA", day, ops.day_files("OPA", day, _rng("OPA", day)))
    for kind in ops.KINDS:
        ops.deliver(*files[kind])
    run = runner.settlement_run(partner=partner, business_date=day)
    assert run.state == RunState.DONE
    statement = Statement.objects.get(run=run, counterparty=partner)

    from partners import services as partner_services

    user = django_user_model.objects.create_user("api_opa", password="x-pass-1234")
    _, key = partner_services.api_key_issue(
        partner_user=PartnerUser.objects.create(user=user, partner=partner), label="t")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    listed = api.get("/api/v1/statements/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [s["id"] for s in rows] == [statement.pk] and rows[0]["platform"] == "OPA"
    assert api.get(f"/api/v1/statements/{statement.pk}/").status_code == 200

    SettlementRun.objects.filter(pk=run.pk).update(state=RunState.FAILED)  # e.g. checks failed
    listed = api.get("/api/v1/statements/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows == []
    assert api.get(f"/api/v1/statements/{statement.pk}/").status_code == 404
    page = staff_client.get(f"/admin/lending/statement/{statement.pk}/change/")
    assert "PROVISIONAL (run FAILED)" in page.content.decode()
    page = staff_client.get("/admin/lending/statement/")
    assert "PROVISIONAL (run FAILED)" in page.content.decode()
