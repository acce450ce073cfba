"""Regulatory limits checked in every run (issue 21): a breach found that day is raised as an
alert — a mail to ADMINS, an ERROR record and a banner on the run list until acknowledged.

R1, the partner's share of each loan (lending.domain.rules, the one place that defines the
threshold and its effective date): a loan disbursed on or after RATIO_RULE_FROM whose
agreement gives the bank more than MAX_BANK_RATIO is never booked — intake and booking
quarantine it as RATIO_RULE_REASON on RATIO_RULE_COLUMN. The run counts those rows of the
partner's day and alerts once for the day.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum

from lending.domain.rules import (
    MAX_BANK_RATIO,
    RATIO_RULE_COLUMN,
    RATIO_RULE_FROM,
    RATIO_RULE_REASON,
)
from lending.settlement.models import AlertReason, SettlementRun
from partners.models import FileKind, QuarantinedRow


def limit_breaches_alert(run: SettlementRun) -> dict:
    """The R1 breaches of the run's partner and day (loans refused at intake or booking):
    `{"r1_loans": n, "r1_principal": "…"}`, and one LIMIT_BREACH alert when there are any."""
    from lending.settlement.scheduler import alert  # the scheduler imports the runner

    found = QuarantinedRow.objects.filter(
        partner_id=run.partner_id, business_date=run.business_date, file__kind=FileKind.LOANS,
        reason=RATIO_RULE_REASON, column=RATIO_RULE_COLUMN,
    ).aggregate(n=Count("id"), principal=Sum("amount"))
    n, principal = found["n"], found["principal"] or Decimal("0.00")
    if n:
        alert(AlertReason.LIMIT_BREACH, run.partner, run.business_date, run=run,
              message=f"{run.partner.code} {run.business_date}: {n} loan(s), principal "
                      f"{principal}, refused by R1 — the partner must fund at least "
                      f"{1 - MAX_BANK_RATIO:.0%} of each loan disbursed from "
                      f"{RATIO_RULE_FROM.isoformat()} (bank ratio at most {MAX_BANK_RATIO}); "
                      f"see the quarantined rows")
    return {"r1_loans": n, "r1_principal": str(principal)}
