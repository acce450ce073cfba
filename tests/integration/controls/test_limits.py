"""Issue 21, regulatory limits R2-R5 (DOMAIN §1.2): effective-dated thresholds and bank figures
(controls.limits), the concentration checks of every run (lending.settlement.limits), the
per-borrower and all-in cost refusals at booking (lending.services.booking) and on program
changes (controls.requests) — each on both sides of its threshold and of its warning level."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controls import limits
from controls import requests as change_requests
from controls.models import (
    LimitBankFigure,
    LimitCode,
    LimitRelatedParty,
    LimitRelatedPartyGroup,
    LimitThreshold,
    RequestKind,
)
from lending import services
from lending.models import Loan
from lending.settlement import limits as run_limits
from lending.settlement.models import Alert, SettlementRun
from tests.factories import lending as f

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)
D = Decimal


def _program(code: str, *, max_principal: str = "200000", max_rate: str = "0.24"):
    """A platform whose agreement gives the bank 70 % of each loan."""
    version = f.active_agreement(code=f"AG-{code}", platform=f.partner(code),
                                 bank_ratio=D("0.70"), effective_from=date(2024, 1, 1))
    return f.program(code=f"P-{code}", version=version, repayment_methods=["EQUAL_INSTALLMENT"],
                     min_annual_rate=D("0.05"), max_annual_rate=D(max_rate),
                     max_principal=D(max_principal), max_term_months=24)


def _loan(program, loan_no: str, principal: str, *, borrower: str | None = None,
          rate: str = "0.18", disbursed_on: date = DAY) -> services.LoanToBook:
    return services.LoanToBook(
        partner_id=program.partner_id, loan_no=loan_no, program_id=program.pk,
        borrower_token=services.borrower_token(partner_code=program.partner.code,
                                               borrower_ref=borrower or loan_no),
        principal=D(principal), annual_rate=D(rate), term_months=12,
        repayment_method="EQUAL_INSTALLMENT", disbursed_on=disbursed_on,
        bank_approval_ref=f"BA-{loan_no}", source_ref=loan_no)


def _figures(capital: str, total: str, day: date = date(2026, 1, 1)) -> None:
    LimitBankFigure.objects.create(figure="NET_TIER1_CAPITAL", amount=D(capital),
                                   effective_from=day)
    LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=D(total), effective_from=day)


def _threshold(code: str, threshold: str, warning: str = "0.90",
               day: date = date(2026, 1, 1)) -> None:
    LimitThreshold.objects.create(code=code, threshold=D(threshold), warning_level=D(warning),
                                  effective_from=day)


@pytest.fixture(autouse=True)
def _no_bank_figures():
    """Each test enters the figures it needs (tests/conftest.py enters large ones for others)."""
    LimitBankFigure.objects.all().delete()


def _run(program) -> SettlementRun:
    return SettlementRun.objects.create(partner=program.partner, business_date=DAY)


# --- effective dates ----------------------------------------------------------------------------

def test_the_defaults_are_seeded_and_a_change_effective_tomorrow_does_not_apply_today():
    today = timezone.localdate()
    seeded = {c: (t.threshold, t.warning_level) for c in LimitCode.values
              for t in [limits.threshold_on(c, today)]}
    assert seeded == {"PARTNER_CAPITAL": (D("0.25"), D("0.90")),
                      "JOINT_TOTAL": (D("0.50"), D("0.90")),
                      "BORROWER": (D("200000"), D("0.90")),
                      "ALL_IN_COST": (D("0.24"), D("0.90"))}
    tomorrow = today + timedelta(days=1)
    _threshold("PARTNER_CAPITAL", "0.20", day=tomorrow)
    assert limits.threshold_on("PARTNER_CAPITAL", today).threshold == D("0.25")
    assert limits.threshold_on("PARTNER_CAPITAL", tomorrow).threshold == D("0.20")
    by_day = limits.thresholds_by_day("PARTNER_CAPITAL", "BORROWER")["PARTNER_CAPITAL"]
    assert (by_day(today).threshold, by_day(tomorrow).threshold) == (D("0.25"), D("0.20"))
    assert by_day(date(1999, 12, 31)) is None  # before the seeded row: none in force

    LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=D("300"), effective_from=today)
    LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=D("400"),
                                   effective_from=tomorrow)
    assert limits.figure_on("TOTAL_LOANS", today) == D("300")
    assert limits.figure_on("TOTAL_LOANS", tomorrow) == D("400")
    assert limits.figure_on("TOTAL_LOANS", today - timedelta(days=1)) is None


@pytest.mark.parametrize(("value", "level"), [
    ("0.2249", "OK"),                               # below the warning level (90 % of 0.25)
    ("0.2250", "WARNING"), ("0.25", "WARNING"),     # from the warning level to the threshold
    ("0.250001", "BREACH"),                         # above the threshold
])
def test_levels_on_both_sides_of_the_threshold_and_the_warning_level(value, level):
    t = limits.Threshold("PARTNER_CAPITAL", D("0.25"), D("0.90"), date(2000, 1, 1))
    assert t.warning_at == D("0.225")
    assert t.level(D(value)) == level


# --- R2 and R3 in the run ---------------------------------------------------------------------

def _book(*loans) -> None:
    result = services.loans_book(loans=list(loans), booked_on=DAY)
    assert result.rejected == [], result.rejected


def test_r2_counts_related_parties_and_r3_all_partners_on_both_sides_of_each_level():
    a, b, c = _program("RA"), _program("RB"), _program("RC")
    _book(_loan(a, "A1", "10000.00"), _loan(b, "B1", "20000.00"), _loan(c, "C1", "30000.00"))
    group = LimitRelatedPartyGroup.objects.create(name="RA group")
    for p in (a, b):
        LimitRelatedParty.objects.create(group=group, partner=p.partner)
    # bank shares: A 7,000, B 14,000, C 21,000: RA + related RB = 21,000; all = 42,000
    assert run_limits.joint_balances(a.partner_id)[1:] == (D("21000.00"), D("42000.00"))
    assert run_limits.joint_balances(c.partner_id)[1:] == (D("21000.00"), D("42000.00"))

    # capital 84,000: R2 = 0.25, exactly the threshold (a warning, not a breach);
    # total loans 94,000: R3 = 0.446809, just below the warning at 0.45
    _figures("84000", "94000")
    out = run_limits.limit_breaches_alert(_run(a))
    assert out["r2"]["partners"] == ["RA", "RB"]
    assert (out["r2"]["ratio"], out["r2"]["level"]) == ("0.250000", "WARNING")
    assert (out["r3"]["ratio"], out["r3"]["level"]) == ("0.446809", "OK")
    alerts = dict(Alert.objects.values_list("key", "message"))
    assert set(alerts) == {f"LIMIT_BREACH:RA:{DAY}:R2_WARNING"}
    assert alerts[f"LIMIT_BREACH:RA:{DAY}:R2_WARNING"].startswith(
        f"WARNING R2 {DAY}: the bank's joint-loan balance with RA, RB")
    assert "= 0.250000 (21000.00 / 84000.00)" in alerts[f"LIMIT_BREACH:RA:{DAY}:R2_WARNING"]

    # from DAY on, one cent less capital: RC alone, 21,000 / 83,999.99 is above 0.25 by a
    # hair (a breach); R3 42,000 / 93,333.33 = 0.4500000016, just past the warning level
    LimitBankFigure.objects.create(figure="NET_TIER1_CAPITAL", amount=D("83999.99"),
                                   effective_from=DAY)
    LimitBankFigure.objects.create(figure="TOTAL_LOANS", amount=D("93333.33"),
                                   effective_from=DAY)
    out = run_limits.limit_breaches_alert(_run(c))
    assert (out["r2"]["partners"], out["r2"]["level"]) == (["RC"], "BREACH")
    assert (out["r3"]["ratio"], out["r3"]["level"]) == ("0.450000", "WARNING")
    # total loans one cent under 84,000: R3 = 0.50000006, a breach
    LimitBankFigure.objects.filter(figure="TOTAL_LOANS", effective_from=DAY).update(
        amount=D("83999.99"))
    out = run_limits.limit_breaches_alert(_run(b))
    assert (out["r2"]["partners"], out["r2"]["level"]) == (["RA", "RB"], "BREACH")
    assert (out["r3"]["ratio"], out["r3"]["level"]) == ("0.500000", "BREACH")
    assert set(Alert.objects.values_list("key", flat=True)) == {
        f"LIMIT_BREACH:RA:{DAY}:R2_WARNING", f"LIMIT_BREACH:RC:{DAY}:R2_BREACH",
        f"LIMIT_BREACH:BANK:{DAY}:R3_WARNING", f"LIMIT_BREACH:RB:{DAY}:R2_BREACH",
        f"LIMIT_BREACH:BANK:{DAY}:R3_BREACH"}
    breach = Alert.objects.get(key=f"LIMIT_BREACH:BANK:{DAY}:R3_BREACH").message
    assert breach.startswith(f"BREACH R3 {DAY}: the bank's joint-loan balance with all partners")
    assert "above the threshold (threshold 0.5000, warning from 0.450000" in breach


def test_r2_below_the_warning_level_raises_nothing_and_paid_off_loans_do_not_count():
    a = _program("RA")
    _book(_loan(a, "A1", "10000.00"), _loan(a, "A2", "10000.00"))
    Loan.objects.filter(loan_no="A2").update(state="PAID_OFF")
    # 7,000 / 31,200 = 0.224359 < 0.225 (the warning level); R3 the same / 15,600 = 0.448718
    _figures("31200", "15600")
    out = run_limits.limit_breaches_alert(_run(a))
    assert (out["r2"]["balance"], out["r2"]["ratio"], out["r2"]["level"]) == (
        "7000.00", "0.224359", "OK")
    assert (out["r3"]["ratio"], out["r3"]["level"]) == ("0.448718", "OK")
    assert not Alert.objects.exists()


def test_missing_figures_are_a_clear_warning_not_a_crash_and_a_figure_of_tomorrow_is_missing():
    a = _program("RA")
    _book(_loan(a, "A1", "10000.00"))
    _figures("1000000", "1000000", day=DAY + timedelta(days=1))  # not yet in force
    out = run_limits.limit_breaches_alert(_run(a))
    assert (out["r2"]["level"], out["r3"]["level"]) == ("MISSING_FIGURE", "MISSING_FIGURE")
    assert out["r2"]["figure_amount"] is None and out["r2"]["balance"] == "7000.00"
    alerts = dict(Alert.objects.values_list("key", "message"))
    assert set(alerts) == {f"LIMIT_BREACH:BANK:{DAY}:NET_TIER1_CAPITAL_MISSING",
                           f"LIMIT_BREACH:BANK:{DAY}:TOTAL_LOANS_MISSING"}
    assert alerts[f"LIMIT_BREACH:BANK:{DAY}:NET_TIER1_CAPITAL_MISSING"].startswith(
        f"WARNING {DAY}: the bank's net tier-1 capital in force on {DAY} is missing — enter it")
    run_limits.limit_breaches_alert(SettlementRun.objects.get())
    assert Alert.objects.count() == 2  # once a day


# --- R4 and R5 at booking ----------------------------------------------------------------------

def test_r4_one_borrower_up_to_the_limit_is_booked_one_cent_more_is_refused():
    a = _program("RA")
    _book(_loan(a, "A1", "150000.00", borrower="U1"))
    result = services.loans_book(loans=[
        _loan(a, "A2", "50000.01", borrower="U1"),   # 200,000.01: refused
        _loan(a, "A3", "50000.00", borrower="U1"),   # 200,000.00: at the limit, booked
        _loan(a, "A4", "0.01", borrower="U1"),       # now above: refused
        _loan(a, "A5", "200000.00", borrower="U2"),  # another borrower
    ], booked_on=DAY)
    assert set(Loan.objects.values_list("loan_no", flat=True)) == {"A1", "A3", "A5"}
    assert {(r.loan_no, r.reason, r.column) for r in result.rejected} == {
        ("A2", "LIMIT_EXCEEDED", "borrower_ref"), ("A4", "LIMIT_EXCEEDED", "borrower_ref")}
    message = next(r.message for r in result.rejected if r.loan_no == "A2")
    assert message == ("R4 per-borrower limit: this borrower's outstanding principal "
                       "150000.00 plus 50000.01 would be above the limit of 200,000.00 per "
                       "borrower in force from 2000-01-01")


def test_r4_in_the_run_borrowers_on_both_sides_of_the_warning_level_and_the_limit():
    a = _program("RA")
    # booked while a higher limit was in force; 200,000 from DAY on
    _threshold("BORROWER", "300000", day=DAY - timedelta(days=10))
    _threshold("BORROWER", "200000", day=DAY)
    result = services.loans_book(loans=[
        _loan(a, "A1", "179999.99", borrower="U1"),   # below 90 % of 200,000
        _loan(a, "A2", "180000.00", borrower="U2"),   # at the warning level
        _loan(a, "A3", "100000.00", borrower="U3"),   # with A4: exactly the limit
        _loan(a, "A4", "100000.00", borrower="U3"),
        _loan(a, "A5", "200000.00", borrower="U4"),   # with A6: one cent above it
        _loan(a, "A6", "0.01", borrower="U4"),
    ], booked_on=DAY - timedelta(days=1))
    assert result.rejected == [] and result.booked == 6
    _figures("20000000000", "300000000000")
    out = run_limits.limit_breaches_alert(_run(a))
    assert out["r4_borrowers"] == {"warning": 2, "breach": 1, "threshold": "200000.0000",
                                   "warning_at": "180000.00000000"}
    alerts = dict(Alert.objects.values_list("key", "message"))
    assert set(alerts) == {f"LIMIT_BREACH:RA:{DAY}:R4_WARNING", f"LIMIT_BREACH:RA:{DAY}:R4_BREACH"}
    assert alerts[f"LIMIT_BREACH:RA:{DAY}:R4_BREACH"] == (
        f"BREACH R4 RA {DAY}: 1 borrower(s) with an outstanding principal above the limit of "
        f"200,000.00 per borrower, in force from {DAY}")
    Loan.objects.filter(loan_no__in=["A2", "A5"]).update(state="PAID_OFF")
    SettlementRun.objects.all().delete()
    Alert.objects.all().delete()
    out = run_limits.limit_breaches_alert(_run(a))
    assert (out["r4_borrowers"]["warning"], out["r4_borrowers"]["breach"]) == (1, 0)


def test_r4_counts_outstanding_principal_only_and_a_lower_limit_of_tomorrow_does_not_apply():
    a = _program("RA")
    _book(_loan(a, "A1", "150000.00", borrower="U1"))
    Loan.objects.filter(loan_no="A1").update(principal_outstanding=D("100000.00"))
    _threshold("BORROWER", "100000", day=DAY + timedelta(days=1))
    result = services.loans_book(loans=[_loan(a, "A2", "100000.00", borrower="U1")],
                                 booked_on=DAY)
    assert result.rejected == [] and result.booked == 1
    result = services.loans_book(loans=[_loan(a, "A3", "0.01", borrower="U1")],
                                 booked_on=DAY + timedelta(days=1))
    assert [(r.loan_no, r.column) for r in result.rejected] == [("A3", "borrower_ref")]


def test_r4_the_borrower_token_is_partner_scoped_so_the_same_reference_elsewhere_is_another():
    """What is missing for R4 across partners: the token is HMAC(partner:reference), so one
    person's loans with two platforms cannot be matched (docs/limits.md)."""
    a, b = _program("RA"), _program("RB")
    _book(_loan(a, "A1", "200000.00", borrower="ID-1"))
    result = services.loans_book(loans=[_loan(b, "B1", "200000.00", borrower="ID-1")],
                                 booked_on=DAY)
    assert result.booked == 1


def test_r5_a_loan_rate_above_the_all_in_cost_cap_in_force_on_its_date_is_refused():
    a = _program("RA", max_rate="0.30")
    _threshold("ALL_IN_COST", "0.20", day=DAY)  # lowered from DAY on
    before = DAY - timedelta(days=1)
    result = services.loans_book(loans=[
        _loan(a, "OLD-AT", "1000.00", rate="0.24", disbursed_on=before),
        _loan(a, "OLD-OVER", "1000.00", rate="0.2401", disbursed_on=before),
        _loan(a, "NEW-AT", "1000.00", rate="0.20"),
        _loan(a, "NEW-OVER", "1000.00", rate="0.2001"),
    ], booked_on=DAY)
    assert set(Loan.objects.values_list("loan_no", flat=True)) == {"OLD-AT", "NEW-AT"}
    rejected = {r.loan_no: r for r in result.rejected}
    assert set(rejected) == {"OLD-OVER", "NEW-OVER"}
    assert rejected["NEW-OVER"].column == "annual_rate"
    assert rejected["NEW-OVER"].message == (
        "R5 all-in cost: rate 0.2001 is above the 20.00% cap on the borrower's all-in "
        f"annualised cost in force from {DAY}")


def test_r5_a_program_change_above_the_cap_is_refused_at_or_below_it_is_submitted():
    a = _program("RA")
    maker = f.user("risk-maker")
    with pytest.raises(change_requests.RequestError, match=r"R5 all-in cost: the maximum "
                       r"annual rate 0.2401 is above the 24.00% cap"):
        change_requests.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=a.pk,
                                       payload={"max_annual_rate": "0.2401"}, note="", by=maker)
    req = change_requests.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=a.pk,
                                         payload={"max_annual_rate": "0.24"}, note="", by=maker)
    assert req.status == "PENDING_APPROVAL"


def test_r5_a_new_program_above_the_cap_is_never_activated():
    a = _program("RA", max_rate="0.30")
    a.active = False
    a.save(update_fields=["active"])
    with pytest.raises(change_requests.RequestError, match="R5 all-in cost"):
        change_requests.request_create(kind=RequestKind.PROGRAM_CHANGE, target_id=a.pk,
                                       payload={"active": True}, note="", by=f.user("rm"))


# --- in a run: R4/R5 refusals counted and alerted, R2/R3 in the totals, shown on the run list --

def test_a_run_counts_r4_and_r5_refusals_alerts_and_the_run_list_shows_them():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from lending.settlement import runner
    from partners.models import Partner, QuarantinedRow
    from tests.factories import operations as ops

    ops.world_setup()
    _figures("20000000000", "300000000000")
    _threshold("BORROWER", "50000")        # from 2026-01-01
    _threshold("ALL_IN_COST", "0.20")
    day = DAY.isoformat()
    loans = [  # program CASH: 0.10-0.24, up to 50,000
        ("OPA-1", "CASH", "U1", "30000.00", "0.18", 6, "EQUAL_INSTALLMENT", day, "", "A-1"),
        ("OPA-2", "CASH", "U1", "20000.01", "0.18", 6, "EQUAL_INSTALLMENT", day, "", "A-2"),
        ("OPA-3", "CASH", "U2", "1000.00", "0.2001", 6, "EQUAL_INSTALLMENT", day, "", "A-3"),
        ("OPA-4", "CASH", "U2", "1000.00", "0.20", 6, "EQUAL_INSTALLMENT", day, "", "A-4"),
    ]
    files = ops.build("OPA", DAY, {"loans": loans, "repayments": [], "reversals": [],
                                   "balances": []})
    for kind in ops.KINDS:
        assert ops.deliver(*files[kind])["status"] == "ACCEPTED"

    run = runner.settlement_run(partner=Partner.objects.get(code="OPA"), business_date=DAY)

    assert (run.state, run.error) == ("DONE", "")
    assert set(Loan.objects.values_list("loan_no", flat=True)) == {"OPA-1", "OPA-4"}
    totals = run.totals["limits"]
    assert (totals["r4_loans"], totals["r4_principal"]) == (1, "20000.01")
    assert (totals["r5_loans"], totals["r5_principal"]) == (1, "1000.00")
    assert totals["r2"]["balance"] == "21700.00" and totals["r2"]["level"] == "OK"
    assert totals["r3"]["figure_amount"] == "300000000000.00"
    rows = dict(QuarantinedRow.objects.filter(reason="LIMIT_EXCEEDED")
                .values_list("column", "message"))
    assert rows["borrower_ref"].startswith("R4 per-borrower limit: this borrower's outstanding "
                                           "principal 30000.00 plus 20000.01")
    assert rows["annual_rate"].startswith("R5 all-in cost: rate 0.2001 is above the 20.00%")
    alerts = dict(Alert.objects.values_list("key", "message"))
    assert set(alerts) == {f"LIMIT_BREACH:OPA:{DAY}:R4", f"LIMIT_BREACH:OPA:{DAY}:R5"}
    assert Alert.objects.filter(run=run).count() == 2

    staff = get_user_model().objects.create_superuser("ops-lead", password="pw-123456789-x")
    client = Client()
    client.force_login(staff)
    body = client.get(reverse("admin:lending_settlementrun_changelist")).content.decode()
    assert "1 loan(s), principal 20000.01, refused at booking — R4 per-borrower limit" in body
    alerts_page = client.get(reverse("admin:lending_alert_changelist")).content.decode()
    assert "R5 all-in cost: a rate above the all-in cost cap" in alerts_page
    run_page = client.get(reverse("admin:lending_settlementrun_change", args=[run.pk]))
    html = run_page.content.decode()
    assert f"<b>LIMIT_BREACH:OPA:{DAY}:R4</b>: OPA {DAY}: 1 loan(s), principal 20000.01" in html
    assert f"<b>LIMIT_BREACH:OPA:{DAY}:R5</b>: OPA {DAY}: 1 loan(s), principal 1000.00" in html
    assert "&quot;r4_borrowers&quot;" in html  # the limits in the run's control totals
