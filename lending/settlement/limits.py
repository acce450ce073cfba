"""Regulatory limits checked in every run (issue 21): a breach found that day is raised as an
alert — a mail to ADMINS, an ERROR record and a banner on the run list until acknowledged.

R1, the partner's share of each loan (lending.domain.rules, the one place that defines the
threshold and its effective date): a loan disbursed on or after RATIO_RULE_FROM whose
agreement gives the bank more than MAX_BANK_RATIO is never booked — intake and booking
quarantine it as RATIO_RULE_REASON on RATIO_RULE_COLUMN. The run counts those rows of the
partner's day and alerts once for the day.

R2-R5 (thresholds and warning levels effective-dated, staff-editable: controls.limits):
- R2: after the run, the bank's share of the principal outstanding of joint loans (bank ratio
  below 1, ACTIVE or OVERDUE) made with the run's partner and its related parties (as
  platform, or as a co-funder) against the bank's net tier-1 capital in force that day;
- R3: the same balance with all partners against the bank's total loans;
  each a WARNING alert from the warning level, a BREACH alert above the threshold, and a
  warning saying which figure is missing when staff have not entered it. Two aggregates in
  one statement; no per-loan work.
- R4 (one borrower's outstanding principal) and R5 (a loan's rate above the all-in cost cap)
  are refused at booking (lending.services.booking): the run counts those rows and alerts.
Every alert is a LIMIT_BREACH (no new reason: lending.settlement.models is not touched);
the key's suffix (R2_WARNING, R3_BREACH, NET_TIER1_CAPITAL_MISSING, ...) and the message say
which limit and which level. R3 and the missing figures are the bank's, not one partner's:
their alerts are raised under the bank (once a day, on the first run that finds them).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum

from config.sql_literals import lit
from controls.limits import (
    ALL_IN_COST_PREFIX,
    BORROWER_PREFIX,
    BankFigure,
    LimitCode,
    figure_on,
    threshold_on,
)
from controls.models import LimitRelatedParty
from lending.domain.rules import (
    MAX_BANK_RATIO,
    RATIO_RULE_COLUMN,
    RATIO_RULE_FROM,
    RATIO_RULE_REASON,
)
from lending.models import LoanState
from lending.settlement.models import AlertReason, SettlementRun
from partners.models import FileKind, Partner, PartnerKind, QuarantinedRow, ReasonCode


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
    out = {"r1_loans": n, "r1_principal": str(principal)}
    out.update(_refusals_alert(run, alert))
    out.update(borrowers_alert(run, alert))
    out.update(concentration_alert(run, alert))
    return out


_BORROWERS = f"""
SELECT count(*) FILTER (WHERE total >= %(warn)s AND total <= %(limit)s),
       count(*) FILTER (WHERE total > %(limit)s)
FROM (SELECT SUM(principal_outstanding) AS total FROM lending_loan
      WHERE partner_id = %(partner)s AND state IN ({lit(LoanState.ACTIVE, LoanState.OVERDUE)})
      GROUP BY borrower_token) b
"""


def borrowers_alert(run: SettlementRun, alert) -> dict:
    """R4 after the run: the partner's borrowers whose outstanding principal is at or above the
    warning level, and above the limit (booking refuses new breaches; these are loans booked
    before the limit or a lower one took effect). One GROUP BY; an alert for each level."""
    t = threshold_on(LimitCode.BORROWER, run.business_date)
    if t is None:
        return {"r4_borrowers": {"level": "NO_THRESHOLD"}}
    with connection.cursor() as cur:
        cur.execute(_BORROWERS, {"warn": t.warning_at, "limit": t.threshold,
                                 "partner": run.partner_id})
        warning, breach = cur.fetchone()
    for level, n in (("WARNING", warning), ("BREACH", breach)):
        if n:
            what = (f"above the limit of {t.threshold:,.2f}" if level == "BREACH"
                    else f"at or above the warning level {t.warning_at:,.2f} (limit "
                         f"{t.threshold:,.2f})")
            alert(AlertReason.LIMIT_BREACH, run.partner, run.business_date, run=run,
                  key_suffix=f"R4_{level}",
                  message=f"{level} R4 {run.partner.code} {run.business_date}: {n} "
                          f"borrower(s) with an outstanding principal {what} per borrower, "
                          f"in force from {t.effective_from}")
    return {"r4_borrowers": {"warning": warning, "breach": breach,
                             "threshold": str(t.threshold), "warning_at": str(t.warning_at)}}


def _refusals_alert(run: SettlementRun, alert) -> dict:
    """R4 and R5: the loans of the run's partner and day refused at booking, one alert each."""
    found = QuarantinedRow.objects.filter(
        partner_id=run.partner_id, business_date=run.business_date, file__kind=FileKind.LOANS,
        reason=ReasonCode.LIMIT_EXCEEDED,
    ).aggregate(
        r4=Count("id", filter=Q(message__startswith=BORROWER_PREFIX)),
        r4_principal=Sum("amount", filter=Q(message__startswith=BORROWER_PREFIX)),
        r5=Count("id", filter=Q(message__startswith=ALL_IN_COST_PREFIX)),
        r5_principal=Sum("amount", filter=Q(message__startswith=ALL_IN_COST_PREFIX)),
    )
    out = {}
    for code, what in (("r4", f"{BORROWER_PREFIX}: one borrower's outstanding principal "
                               "above the limit"),
                       ("r5", f"{ALL_IN_COST_PREFIX}: a rate above the all-in cost cap")):
        n, principal = found[code], found[f"{code}_principal"] or Decimal("0.00")
        out[f"{code}_loans"], out[f"{code}_principal"] = n, str(principal)
        if n:
            alert(AlertReason.LIMIT_BREACH, run.partner, run.business_date, run=run,
                  key_suffix=code.upper(),
                  message=f"{run.partner.code} {run.business_date}: {n} loan(s), principal "
                          f"{principal}, refused at booking — {what}; see the quarantined "
                          f"rows")
    return out


_BALANCES = f"""
SELECT COALESCE(SUM(s.principal_outstanding) FILTER (
           WHERE l.partner_id = ANY(%(group)s) OR g.loan_id IS NOT NULL), 0),
       COALESCE(SUM(s.principal_outstanding), 0)
FROM lending_loanshare s
JOIN lending_loan l ON l.id = s.loan_id
LEFT JOIN (SELECT DISTINCT loan_id FROM lending_loanshare WHERE funder_id = ANY(%(group)s)) g
       ON g.loan_id = s.loan_id
WHERE s.funder_id = %(bank)s AND l.bank_ratio < 1
  AND l.state IN ({lit(LoanState.ACTIVE, LoanState.OVERDUE)})
"""


def related_parties(partner_id: int) -> list[int]:
    """The partner and every partner in its related-party group (controls)."""
    ids = set(LimitRelatedParty.objects.filter(group__members__partner_id=partner_id)
              .values_list("partner_id", flat=True))
    return sorted(ids | {partner_id})


def joint_balances(partner_id: int) -> tuple[list[int], Decimal, Decimal]:
    """(the partner's related parties, the bank's joint-loan balance with them, with all
    partners): the bank's share of the principal outstanding now — after the run, as of its
    date. One statement."""
    group = related_parties(partner_id)
    bank_id = Partner.objects.filter(kind=PartnerKind.BANK).values_list("pk", flat=True).get()
    with connection.cursor() as cur:
        cur.execute(_BALANCES, {"group": group, "bank": bank_id})
        with_group, with_all = cur.fetchone()
    return group, with_group, with_all


def _measure(code: str, balance: Decimal, figure: str, day) -> dict:
    """One concentration limit: the balance against the figure in force and the threshold."""
    t = threshold_on(code, day)
    amount = figure_on(figure, day)
    out = {"balance": str(balance), "figure": figure,
           "figure_amount": None if amount is None else str(amount)}
    if t is None:
        return {**out, "level": "NO_THRESHOLD"}
    out.update(threshold=str(t.threshold), warning_at=str(t.warning_at),
               threshold_from=t.effective_from.isoformat())
    if amount is None:
        return {**out, "level": "MISSING_FIGURE"}
    ratio = balance / amount  # compared unrounded; shown to 6 places
    return {**out, "ratio": str(ratio.quantize(Decimal("1E-6"))), "level": t.level(ratio)}


def concentration_alert(run: SettlementRun, alert) -> dict:
    """R2 and R3 after the run: `{"r2": {...}, "r3": {...}}` (balance, figure, ratio,
    threshold, level) and an alert for each WARNING, BREACH or missing figure."""
    day, partner = run.business_date, run.partner
    group, with_group, with_all = joint_balances(run.partner_id)
    codes = dict(Partner.objects.filter(pk__in=group).values_list("pk", "code"))
    bank = Partner.objects.get(kind=PartnerKind.BANK)
    r2 = _measure(LimitCode.PARTNER_CAPITAL, with_group, BankFigure.NET_TIER1_CAPITAL, day)
    r2["partners"] = [codes[pk] for pk in group]
    r3 = _measure(LimitCode.JOINT_TOTAL, with_all, BankFigure.TOTAL_LOANS, day)
    for name, m, who, what in (
        ("R2", r2, partner, f"the bank's joint-loan balance with {', '.join(r2['partners'])} "
                            f"(the partner and its related parties) / net tier-1 capital"),
        ("R3", r3, bank, "the bank's joint-loan balance with all partners / total loans"),
    ):
        level = m["level"]
        if level == "MISSING_FIGURE":
            label = BankFigure(m["figure"]).label
            alert(AlertReason.LIMIT_BREACH, bank, day, run=run, key_suffix=f"{m['figure']}_MISSING",
                  message=f"WARNING {day}: the bank's {label.lower()} in force on {day} is "
                          f"missing — enter it (Controls › Limit bank figures); {name} "
                          f"({what}) cannot be checked until then")
        elif level == "NO_THRESHOLD":
            alert(AlertReason.LIMIT_BREACH, bank, day, run=run, key_suffix=f"{name}_NO_THRESHOLD",
                  message=f"WARNING {day}: no {name} threshold in force on {day} "
                          f"(Controls › Limit thresholds); {what} is not checked")
        elif level in ("WARNING", "BREACH"):
            verb = ("above the threshold" if level == "BREACH"
                    else "at or above the warning level")
            alert(AlertReason.LIMIT_BREACH, who, day, run=run, key_suffix=f"{name}_{level}",
                  message=f"{level} {name} {day}: {what} = {m['ratio']} "
                          f"({m['balance']} / {m['figure_amount']}), {verb} (threshold "
                          f"{m['threshold']}, warning from {m['warning_at']}, in force from "
                          f"{m['threshold_from']})")
    return {"r2": r2, "r3": r3}
