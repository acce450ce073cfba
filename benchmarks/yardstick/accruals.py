"""The day's accrual and ageing of one open loan at a time (see benchmarks.yardstick)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from benchmarks.yardstick.common import (
    OPEN_STATES,
    TEN_PLACES,
    ZERO,
    _post,
)
from ledger.domain import chart
from ledger.domain.drafts import LineDraft
from lending.domain.aging import (
    ClassThresholds,
    days_past_due,
    is_non_accrual,
    oldest_unpaid_due,
    risk_class,
)
from lending.domain.daycount import DayCount
from lending.domain.money import q2
from lending.domain.penalty import penalty_for_days
from lending.domain.schedule import accrued_interest
from lending.domain.split import weighted_parts
from lending.models import (
    Loan,
    Program,
)
from lending.settlement.posting import program_dimension

# --- Accrual and ageing -------------------------------------------------------------------------


def _interest_to(loan: Loan, as_of: date) -> Decimal:
    """The loan's interest accrued since its anchor at the day-end of `as_of` (positions.sql)."""
    if (loan.state not in OPEN_STATES or loan.accrual_from is None or loan.accrual_to is None
            or loan.accrual_to <= loan.accrual_from):
        return ZERO
    return q2(accrued_interest(loan.accrual_amount, loan.accrual_from, loan.accrual_to, as_of))


def _penalty_to(loan: Loan, program: Program, as_of: date) -> tuple[Decimal, Decimal]:
    """Penalty (罚息) and compound interest (复利) accrued since the penalty anchor."""
    if loan.state not in OPEN_STATES or loan.penalty_from is None or as_of <= loan.penalty_from:
        return ZERO, ZERO
    days, basis = (as_of - loan.penalty_from).days, DayCount(program.day_count)
    return (penalty_for_days(loan.penalty_base, loan.annual_rate, days,
                             program.penalty_multiplier, basis),
            penalty_for_days(loan.compound_base, loan.annual_rate, days,
                             program.penalty_multiplier, basis))


def _delta_lines(delta: Decimal, debit: str, credit: str, dim: str, source: str) -> list:
    if delta < 0:
        delta, debit, credit = -delta, credit, debit
    if not delta:
        return []
    return [LineDraft.dr(debit, delta, program=dim, source=source),
            LineDraft.cr(credit, delta, program=dim, source=source)]


def loan_accrue_one(*, loan_id: int, partner_code: str, bank_id: int, day: date) -> int:
    """The day's accrual and ageing of one loan the per-event way; returns journal lines."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update(of=("self",)).select_related("program").get(
            pk=loan_id)
        shares = list(loan.shares.select_for_update().order_by("funder_id"))
        insts = list(loan.installments.select_for_update().exclude(status="PAID")
                     .order_by("seq"))
        if loan.state not in OPEN_STATES:
            return 0
        program, before = loan.program, day - timedelta(days=1)
        residual = next(s.funder_id for s in shares if s.is_residual)
        a_weights = {s.funder_id: s.accrual_weight for s in shares}
        p_weights = {s.funder_id: s.penalty_weight for s in shares}
        # Each funder's part of what accrued to date (non-residual HALF_UP(x × weight), the
        # residual the rest — the rule of positions.sql); the day's is today's minus yesterday's.
        interest = weighted_parts(_interest_to(loan, day), a_weights, residual)
        interest_before = weighted_parts(_interest_to(loan, before), a_weights, residual)
        pen, cmp_ = _penalty_to(loan, program, day)
        pen_before, cmp_before = _penalty_to(loan, program, before)
        penalty = weighted_parts(pen, p_weights, residual)
        compound = weighted_parts(cmp_, p_weights, residual)
        penalty_before = weighted_parts(pen_before, p_weights, residual)
        compound_before = weighted_parts(cmp_before, p_weights, residual)

        # Ageing from the instalments: DPD of the oldest unpaid one due by today, class, accrual
        # flag (R16), loan state; instalment statuses.
        oldest = oldest_unpaid_due(
            (i.due_on, i.principal_due - i.principal_paid + i.interest_due - i.interest_paid)
            for i in insts if i.due_on <= day)
        dpd = days_past_due(oldest, day)
        changed = {
            "dpd": dpd,
            "risk_class": str(risk_class(dpd, ClassThresholds(
                program.special_mention_dpd, program.substandard_dpd, program.doubtful_dpd,
                program.loss_dpd))),
            "accruing": not is_non_accrual(dpd, currently_non_accrual=not loan.accruing,
                                           after_dpd=program.non_accrual_dpd),
            "state": "CLAIMED" if loan.state == "CLAIMED" else "OVERDUE" if dpd else "ACTIVE",
        }
        for i in insts:
            unpaid = i.principal_due - i.principal_paid + i.interest_due - i.interest_paid
            if i.due_on <= day and unpaid:
                status = "OVERDUE" if day > i.due_on + timedelta(days=program.grace_days) else "DUE"
                if i.status != status:
                    i.status = status
                    i.save(update_fields=["status"])

        # Crystallise what accrued into the shares (the loan's interest receivable grows every
        # day, as a per-loan accrual job keeps it): the position as of today does not change.
        for s in shares:
            add = (interest[s.funder_id], penalty[s.funder_id], compound[s.funder_id])
            if any(add):
                s.interest_outstanding += add[0]
                s.penalty_outstanding += add[1]
                s.compound_outstanding += add[2]
                s.save(update_fields=["interest_outstanding", "penalty_outstanding",
                                      "compound_outstanding"])
        if loan.accrual_from is not None and loan.accrual_to is not None \
                and loan.accrual_to > loan.accrual_from and day > loan.accrual_from:
            changed["accrual_amount"] = (loan.accrual_amount - _interest_to(loan, day)) \
                .quantize(TEN_PLACES)
            changed["accrual_from"] = min(day, loan.accrual_to)
        # The penalty anchor moves only while its bases are complete (no billed instalment
        # waiting to enter them: the batch's billing does that).
        if loan.penalty_from is not None and day > loan.penalty_from and (
                loan.next_penalty_on is None or loan.next_penalty_on > day):
            changed["penalty_from"] = day
        for name, total in (("interest_outstanding", "interest_outstanding"),
                            ("penalty_outstanding", "penalty_outstanding"),
                            ("compound_outstanding", "compound_outstanding")):
            changed[name] = sum((getattr(s, total) for s in shares), ZERO)
        fields = [k for k, v in changed.items() if getattr(loan, k) != v]
        for k in fields:
            setattr(loan, k, changed[k])
        if fields:
            loan.save(update_fields=fields)

        # The bank's share of the day's accrual (on or off balance by the accrual flag).
        if bank_id not in a_weights:
            return 0
        day_interest = interest[bank_id] - interest_before[bank_id]
        day_penalty = (penalty[bank_id] + compound[bank_id]
                       - penalty_before[bank_id] - compound_before[bank_id])
        dim = program_dimension(partner_code, program.code)
        source = f"baseline:accrue:{loan.pk}"
        if loan.accruing:
            lines = (_delta_lines(day_interest, chart.INTEREST_RECEIVABLE, chart.INTEREST_INCOME,
                                  dim, source)
                     + _delta_lines(day_penalty, chart.PENALTY_RECEIVABLE, chart.PENALTY_INCOME,
                                    dim, source))
        else:
            lines = _delta_lines(day_interest + day_penalty, chart.OFF_BALANCE_INTEREST,
                                 chart.OFF_BALANCE_CONTRA, dim, source)
        return _post(key=f"{source}:{day:%Y-%m-%d}", purpose="ACCRUAL", day=day, lines=lines)
