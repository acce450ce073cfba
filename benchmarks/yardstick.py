"""A straightforward per-event implementation of a settlement day — it exists ONLY as the
yardstick of `manage.py bench_settlement` (issue 6, acceptance 5: the batch run must beat it
100-fold on the same day's events).

Never call it from the settlement: it is the design that DESIGN §8 rules out, the way a
core-banking system with per-loan jobs (Fineract's disbursement, accrual and ageing jobs) does
a day. Each event is one ORM transaction: load what it needs with the ORM (`select_for_update`),
compute with the pure domain (`lending.domain`: schedules, split, waterfall, accrual, penalty,
aging), save the rows it changed, and post one journal entry of the bank's share with
`ledger.services.journal_entries_post` (or, for a balances row, record its breaks). One function
per kind of event of the day:

- `loan_book_one`: a staged new loan → the loan, its funder shares, its schedule, a DISBURSE
  entry;
- `repayment_apply_one`: a plain SCHEDULED borrower payment (billed instalments, interest,
  principal) → instalments and shares saved, a COLLECT entry (reversals are timed at its rate);
- `loan_accrue_one`: the day's interest and penalty of one open loan and its ageing (DPD,
  class, accrual flag) → the accrual crystallised into the shares, an ACCRUAL entry;
- `balance_compare_one`: one row of the partner's balances file against the loan → breaks.

Each handles what the bench's standard day needs, with the batch's arithmetic (so that the
results agree, tests/integration/benchmarks/test_yardstick.py) — enough to time the real
per-event cost of each kind, not a second settlement engine (no claims, write-offs, fees or
MISSING_AT_PARTNER pass). `baseline_run` times a sample of each kind, each in a transaction that
is rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
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
from lending.domain.schedule import accrued_interest, add_months, build_schedule
from lending.domain.split import split, split_principal
from lending.domain.waterfall import Component, OwedItem, allocate
from lending.models import (
    AgreementVersion,
    Installment,
    Loan,
    LoanShare,
    Program,
    StagedBalance,
    StagedLoan,
)
from lending.reconciliation.models import Break, BreakKind, BreakStatus
from lending.reconciliation.services import AMOUNT_TOLERANCE
from lending.settlement.engine import weighted_parts
from lending.settlement.posting import program_dimension
from lending.settlement.weights import accrual_weights, penalty_weights, year_days

ZERO = Decimal("0.00")
TEN_PLACES = Decimal("1E-10")
OPEN_STATES = ("ACTIVE", "OVERDUE", "CLAIMED")
_RECEIVABLE = {Component.INTEREST: chart.INTEREST_RECEIVABLE,
               Component.PRINCIPAL: chart.LOANS_RECEIVABLE}
_SHARE_FIELD = {Component.INTEREST: "interest_outstanding",
                Component.PRINCIPAL: "principal_outstanding"}


class BaselineError(Exception):
    """The per-event yardstick was given something it cannot time (a row already applied)."""


@dataclass
class BaselineResult:
    events: int
    seconds: float
    entries: int  # journal entries posted (balances: events that wrote a break)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _post(*, key: str, purpose: str, day: date, lines: list[LineDraft]) -> int:
    if lines:
        ledger.journal_entries_post(drafts=[EntryDraft(
            book=chart.BANK_GL, business_date=day, idempotency_key=key, purpose=purpose,
            lines=tuple(lines), source_run="baseline")])
    return len(lines)


# --- New loans ----------------------------------------------------------------------------------


def loan_book_one(*, staged_id: int, partner_code: str, bank_id: int, day: date) -> int:
    """Book one staged loan the per-event way; returns the journal lines posted."""
    with transaction.atomic():
        row = StagedLoan.objects.select_for_update().get(pk=staged_id)
        if row.status != "STAGED":
            raise BaselineError(f"staged loan {row.loan_no} is {row.status}, not STAGED")
        program = Program.objects.select_related("agreement").get(pk=row.program_id)
        version = AgreementVersion.objects.get(pk=row.agreement_version_id)
        funders = list(version.funders.order_by("funder_id"))
        residual = version.residual_owner_id
        parts = split(row.principal, {f.funder_id: f.principal_ratio for f in funders}, residual)
        a_weights = accrual_weights(version.interest_split_rule, parts,
                                    {f.funder_id: f.interest_rate for f in funders})
        p_weights = penalty_weights(version.penalty_split_rule, parts, bank_id,
                                    program.agreement.platform_id)
        if row.repayment_method == "DAILY":
            # 随借随还: one instalment at the program's longest term, interest linear to it
            # (as lending.services.loans_book books it)
            maturity = add_months(row.disbursed_on, program.max_term_months)
            plan = [(1, maturity, row.principal, ZERO)]
            accrual = (row.principal * row.annual_rate * (maturity - row.disbursed_on).days
                       / year_days(program.day_count))
        else:
            schedule = build_schedule(row.principal, row.annual_rate, row.term_months,
                                      row.repayment_method, row.disbursed_on, row.first_due_on,
                                      program.day_count)
            plan = [(i.seq, i.due_on, i.principal, i.interest) for i in schedule.installments]
            accrual = plan[0][3]
        loan = Loan.objects.create(
            partner_id=row.partner_id, loan_no=row.loan_no, program=program,
            agreement_version=version, borrower_token=row.borrower_token,
            principal=row.principal, annual_rate=row.annual_rate, term_months=row.term_months,
            repayment_method=row.repayment_method, disbursed_on=row.disbursed_on,
            first_due_on=plan[0][1], maturity_on=plan[-1][1],
            bank_approval_ref=row.bank_approval_ref,
            bank_ratio=next((f.principal_ratio for f in funders if f.funder_id == bank_id),
                            Decimal("0")),
            principal_outstanding=row.principal, booked_on=day, accrual_from=row.disbursed_on,
            accrual_to=plan[0][1], accrual_amount=accrual.quantize(TEN_PLACES))
        for f in funders:
            LoanShare.objects.create(
                loan=loan, funder_id=f.funder_id, ratio=f.principal_ratio,
                interest_rate=f.interest_rate, funded_principal=parts[f.funder_id],
                principal_outstanding=parts[f.funder_id], accrual_weight=a_weights[f.funder_id],
                penalty_weight=p_weights[f.funder_id], is_residual=f.funder_id == residual)
        Installment.objects.bulk_create(
            Installment(loan=loan, seq=seq, due_on=due_on, principal_due=principal,
                        interest_due=interest)
            for seq, due_on, principal, interest in plan)
        row.status, row.applied_at = "APPLIED", timezone.now()
        row.save(update_fields=["status", "applied_at"])
        bank_part = parts.get(bank_id, ZERO)
        dim = program_dimension(partner_code, program.code)
        source = f"baseline:book:{row.loan_no}"
        lines = []
        if bank_part:
            lines = [LineDraft.dr(chart.LOANS_RECEIVABLE, bank_part, program=dim, source=source),
                     LineDraft.cr(chart.DUE_TO_PLATFORM, bank_part, program=dim,
                                  counterparty=partner_code, source=source)]
        return _post(key=source, purpose="DISBURSE", day=day, lines=lines)


# --- Repayments ---------------------------------------------------------------------------------


def repayment_apply_one(*, partner_code: str, partner_id: int, loan_no: str, amount: Decimal,
                        day: date, txn_no: str, bank_id: int) -> int:
    """Apply one repayment the per-event way; returns the journal lines posted."""
    with transaction.atomic():
        loan = Loan.objects.select_for_update(of=("self",)).select_related("program").get(
            partner_id=partner_id, loan_no=loan_no)
        insts = list(loan.installments.order_by("seq"))
        shares = list(loan.shares.order_by("funder_id"))
        residual = next(s for s in shares if s.is_residual).funder_id
        items = []
        for i in insts:
            if i.due_on > day:
                break
            if i.interest_due - i.interest_paid:
                items.append(OwedItem(i.seq, i.due_on, Component.INTEREST,
                                      i.interest_due - i.interest_paid))
            if i.principal_due - i.principal_paid:
                items.append(OwedItem(i.seq, i.due_on, Component.PRINCIPAL,
                                      i.principal_due - i.principal_paid))
        alloc = allocate(amount, items, (Component.INTEREST, Component.PRINCIPAL))
        by_seq = {i.seq: i for i in insts}
        bank_lines: dict[Component, Decimal] = {}
        for line in alloc.lines:
            inst = by_seq[line.installment]
            if line.component == Component.INTEREST:
                inst.interest_paid += line.amount
            else:
                inst.principal_paid += line.amount
            if inst.principal_paid == inst.principal_due and inst.interest_paid == inst.interest_due:
                inst.status, inst.paid_on = "PAID", day
            inst.save()
            attr = _SHARE_FIELD[line.component]
            balances = {s.funder_id: getattr(s, attr) for s in shares}
            # interest billed today is not in the shares yet (it is derived until an event):
            # split it by principal, and it is billed and paid at once (no balance change)
            billed_now = sum(balances.values(), ZERO) < line.amount
            if billed_now:
                balances = {s.funder_id: s.principal_outstanding for s in shares}
            parts = split_principal(line.amount, balances, residual)
            for s in shares:
                part = parts.get(s.funder_id, ZERO)
                if not billed_now:
                    setattr(s, attr, getattr(s, attr) - part)
                if s.funder_id == bank_id and part:
                    bank_lines[line.component] = bank_lines.get(line.component, ZERO) + part
        for s in shares:
            s.save()
        loan.overpaid_amount += alloc.overpayment
        loan.principal_outstanding = sum((s.principal_outstanding for s in shares), ZERO)
        loan.save()
        dim = program_dimension(partner_code, loan.program.code)
        lines = []
        for component, part in sorted(bank_lines.items()):
            lines.append(LineDraft.dr(chart.DUE_FROM_PLATFORM, part, program=dim,
                                      counterparty=partner_code, source=f"baseline:{txn_no}"))
            lines.append(LineDraft.cr(_RECEIVABLE[component], part, program=dim,
                                      source=f"baseline:{txn_no}"))
        return _post(key=f"baseline:{txn_no}", purpose="COLLECT", day=day, lines=lines)


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


# --- Balances file ------------------------------------------------------------------------------


def balance_compare_one(*, staged_id: int, day: date) -> int:
    """Reconcile one row of the partner's balances file the per-event way; returns the breaks
    written (opened, seen again or cleared), as lending.reconciliation.services records them."""
    with transaction.atomic():
        row = StagedBalance.objects.get(pk=staged_id)
        try:
            loan = Loan.objects.select_related("program").get(
                partner_id=row.partner_id, loan_no=row.loan_no, booked_on__lte=day)
        except Loan.DoesNotExist:
            loan = None
        theirs_p = row.principal_outstanding
        diffs: list[tuple[str, str, str, str, Decimal | None]] = []
        if loan is None:
            diffs.append((BreakKind.MISSING_AT_BANK, "", "", str(theirs_p), theirs_p))
        else:
            shares = list(loan.shares.all())
            pen, cmp_ = _penalty_to(loan, loan.program, day)
            ours = {
                "PRINCIPAL": sum((s.principal_outstanding for s in shares), ZERO),
                "INTEREST": sum((s.interest_outstanding for s in shares), ZERO)
                + _interest_to(loan, day),
                "PENALTY": sum((s.penalty_outstanding + s.compound_outstanding for s in shares),
                               ZERO) + pen + cmp_,
            }
            theirs = {"PRINCIPAL": theirs_p, "INTEREST": row.interest_outstanding,
                      "PENALTY": row.penalty_outstanding}
            for name in ("PRINCIPAL", "INTEREST", "PENALTY"):
                if theirs[name] != ours[name]:
                    diffs.append((BreakKind.AMOUNT_MISMATCH, name, str(ours[name]),
                                  str(theirs[name]), theirs[name] - ours[name]))
            if row.loan_status != loan.state:
                diffs.append((BreakKind.STATUS_MISMATCH, "", loan.state, row.loan_status, None))
            if row.dpd != loan.dpd:
                diffs.append((BreakKind.DPD_MISMATCH, "", str(loan.dpd), str(row.dpd),
                              Decimal(row.dpd - loan.dpd)))
        open_breaks = {(b.kind, b.field): b for b in Break.objects.filter(
            partner_id=row.partner_id, loan_no=row.loan_no, status=BreakStatus.OPEN)}
        now, written = timezone.now(), 0
        within = []
        for kind, field, ours_text, theirs_text, difference in diffs:
            if kind == BreakKind.AMOUNT_MISMATCH and abs(difference) <= AMOUNT_TOLERANCE:
                within.append((kind, field, ours_text, theirs_text, difference))
                continue
            seen = open_breaks.pop((kind, field), None)
            if seen is None:
                Break.objects.create(
                    partner_id=row.partner_id, business_date=day, last_seen_on=day,
                    loan_no=row.loan_no, loan=loan, kind=kind, field=field, ours=ours_text,
                    theirs=theirs_text, difference=difference)
                written += 1
            elif seen.last_seen_on < day:
                seen.last_seen_on, seen.ours, seen.theirs = day, ours_text, theirs_text
                seen.difference, seen.loan = difference, loan or seen.loan
                seen.save(update_fields=["last_seen_on", "ours", "theirs", "difference",
                                         "loan"])
                written += 1
        for b in open_breaks.values():  # no longer differing beyond the tolerance
            if b.last_seen_on <= day:
                b.status, b.resolved_at = BreakStatus.AUTO_CLEARED, now
                b.resolution_note = f"no longer differs (beyond {AMOUNT_TOLERANCE}) on {day}"
                b.save(update_fields=["status", "resolved_at", "resolution_note"])
                written += 1
        for kind, field, ours_text, theirs_text, difference in within:
            Break.objects.create(
                partner_id=row.partner_id, business_date=day, last_seen_on=day,
                loan_no=row.loan_no, loan=loan, kind=kind, field=field, ours=ours_text,
                theirs=theirs_text, difference=difference, status=BreakStatus.AUTO_CLEARED,
                resolution_note=f"within tolerance {AMOUNT_TOLERANCE}", resolved_at=now)
            written += 1
        return written


# --- The yardstick ------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


KINDS = ("loans", "repayments", "accruals", "balances")


def _timed(items: Sequence, one: Callable[..., int]) -> BaselineResult:
    """Time `one` over the items in a transaction rolled back at the end."""
    wrote = 0
    elapsed = 0.0
    started = time.monotonic()
    try:
        with transaction.atomic():
            for item in items:
                wrote += 1 if one(item) else 0
            elapsed = time.monotonic() - started
            raise _Rollback
    except _Rollback:
        pass
    return BaselineResult(events=len(items), seconds=elapsed, entries=wrote)


def baseline_run(*, partner_code: str, partner_id: int, bank_id: int, day: date,
                 repayments: Sequence[tuple[str, str, Decimal]],
                 loans: Sequence[int] = (), accruals: Sequence[int] = (),
                 balances: Sequence[int] = ()) -> dict[str, BaselineResult]:
    """Time the per-event path of each kind of the day's events on its sample, each kind in a
    transaction rolled back: repayments (txn_no, loan_no, amount), staged loan ids, ids of the
    loans to accrue and age, staged balance ids. Returns the result per kind (KINDS)."""
    return {
        "loans": _timed(loans, lambda staged_id: loan_book_one(
            staged_id=staged_id, partner_code=partner_code, bank_id=bank_id, day=day)),
        "repayments": _timed(repayments, lambda r: repayment_apply_one(
            partner_code=partner_code, partner_id=partner_id, loan_no=r[1], amount=r[2],
            day=day, txn_no=r[0], bank_id=bank_id)),
        "accruals": _timed(accruals, lambda loan_id: loan_accrue_one(
            loan_id=loan_id, partner_code=partner_code, bank_id=bank_id, day=day)),
        "balances": _timed(balances, lambda staged_id: balance_compare_one(
            staged_id=staged_id, day=day)),
    }
