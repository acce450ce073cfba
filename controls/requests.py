"""Four-eyes change requests: a program change, a break write-off, a partner's status change, a
manual journal entry, the release of a day's settlement payment or a loan's write-off takes
effect only when a second person with the approver role approves it (rules:
controls.four_eyes).

Every service is keyword-only and atomic and raises `RequestError` naming what is wrong.
A kind is a `Handler`: `check` says whether the payload can be applied now (at submission and
again at approval), `apply` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controls import four_eyes
from controls.models import ChangeRequest, PaymentRelease, RequestKind, RequestStatus


class RequestError(four_eyes.FourEyesViolation):
    code = "CHANGE_REQUEST"


@dataclass(frozen=True)
class Handler:
    check: Callable[[ChangeRequest], None]
    apply: Callable[[ChangeRequest], str]
    one_open_per_target: bool = True  # False: requests without a target (manual journals)


# --- Program changes ---------------------------------------------------------------------------

PROGRAM_FIXED = ("id", "partner", "agreement", "code")  # identity: not changed by a request


def _program_with(req: ChangeRequest):
    from lending.models import Program

    program = Program.objects.filter(pk=req.target_id).first()
    if program is None:
        raise RequestError(f"{req}: program {req.target_id} does not exist")
    fields = {f.name: f for f in Program._meta.concrete_fields}
    for name, value in (req.payload or {}).items():
        if name not in fields or name in PROGRAM_FIXED:
            raise RequestError(f"{req}: {name!r} is not a field a request may change")
        setattr(program, fields[name].attname, fields[name].to_python(value))
    try:
        program.full_clean()
    except ValidationError as exc:
        raise RequestError(f"{req}: {'; '.join(exc.messages)}") from exc
    if program.active:  # R5: an active program's cost within the cap in force today
        from controls.limits import all_in_cost_error

        error = all_in_cost_error(program.max_annual_rate, timezone.localdate())
        if error:
            raise RequestError(f"{req}: {error}")
    return program


def _program_check(req: ChangeRequest) -> None:
    if not req.payload:
        raise RequestError(f"{req}: nothing to change")
    _program_with(req)


def _program_apply(req: ChangeRequest) -> str:
    program = _program_with(req)
    program.save(update_fields=list(req.payload))
    return f"program {program} changed: {', '.join(sorted(req.payload))}"


# --- Break write-offs --------------------------------------------------------------------------


def _break_check(req: ChangeRequest) -> None:
    from lending.models import Break, BreakStatus

    brk = Break.objects.filter(pk=req.target_id).first()
    if brk is None:
        raise RequestError(f"{req}: break {req.target_id} does not exist")
    if brk.status != BreakStatus.OPEN:
        raise RequestError(f"{req}: break {brk.pk} is {brk.status}, not open")
    if not str((req.payload or {}).get("note", "")).strip():
        raise RequestError(f"{req}: a write-off needs a note")


def _break_apply(req: ChangeRequest) -> str:
    from lending.models import Break, BreakStatus
    from lending.reconciliation import services as recon

    _break_check(req)
    note = f"{req.payload['note'].strip()} (write-off request #{req.pk}, approved by " \
           f"{req.decided_by})"
    done = recon.breaks_resolve(breaks=Break.objects.filter(pk=req.target_id), note=note,
                                by=req.created_by, status=BreakStatus.WRITTEN_OFF)
    if done != 1:
        raise RequestError(f"{req}: break {req.target_id} was not open any more")
    return f"break {req.target_id} written off"


# --- Partner status changes (suspend, terminate, reactivate) ----------------------------------


def _partner_status_target(req: ChangeRequest):
    from partners.models import Partner

    partner = Partner.objects.filter(pk=req.target_id).first()
    if partner is None:
        raise RequestError(f"{req}: partner {req.target_id} does not exist")
    if set(req.payload or {}) != {"status"}:
        raise RequestError(f"{req}: a partner status request says only the new status")
    return partner, req.payload["status"]


def _partner_status_check(req: ChangeRequest) -> None:
    from partners import services as partner_services

    partner, status = _partner_status_target(req)
    try:
        partner_services.partner_status_change_check(partner=partner, status=status)
    except partner_services.PartnerStatusError as exc:
        raise RequestError(f"{req}: {exc}") from exc


def _partner_status_apply(req: ChangeRequest) -> str:
    from partners import services as partner_services

    partner, status = _partner_status_target(req)
    before = partner.status
    try:
        partner_services.partner_status_set(partner=partner, status=status)
    except partner_services.PartnerStatusError as exc:
        raise RequestError(f"{req}: {exc}") from exc
    return f"partner {partner.code}: {before} → {status}"


# --- Manual journal entries ---------------------------------------------------------------------
# payload: {"book": "BANK_GL", "business_date": "2026-01-15", "memo": "...",
#           "lines": [{"account": "1132", "debit": "100.00", "credit": "0", "currency": "CNY",
#                      "program": "", "counterparty": ""}, ...]}
# Posted on approval through the ledger's service (journal_entries_post: balanced per
# currency, open period, known active accounts), with the idempotency key manual:<request id>,
# so an entry is posted once whatever happens to the request afterwards.

MANUAL_PURPOSE = "MANUAL_JOURNAL"
_MAX_AMOUNT = Decimal(10) ** 16  # the ledger's amounts: numeric(18, 2)
_LINE_KEYS = {"account", "debit", "credit", "currency", "program", "counterparty"}


def manual_journal_key(req: ChangeRequest) -> str:
    return f"manual:{req.pk}"


def _amount(req: ChangeRequest, n: int, name: str, value) -> Decimal:
    text = "0" if value in (None, "") else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RequestError(f"{req}: line {n}: {name} {value!r} is not an amount") from None
    if (not amount.is_finite() or amount < 0 or amount >= _MAX_AMOUNT
            or amount != amount.quantize(Decimal("0.01"))):
        raise RequestError(f"{req}: line {n}: {name} {value!r} must be 0 or more, in cents, "
                           f"below {_MAX_AMOUNT:,}")
    return amount


def _manual_draft(req: ChangeRequest):
    from ledger.domain.drafts import EntryDraft, LineDraft, drafts_check
    from ledger.domain.errors import LedgerError

    payload = req.payload or {}
    unknown = set(payload) - {"book", "business_date", "memo", "lines"}
    if unknown:
        raise RequestError(f"{req}: unknown field(s) {', '.join(sorted(unknown))}")
    book = str(payload.get("book") or "").strip()
    if not book:
        raise RequestError(f"{req}: a manual journal names its book")
    try:
        day = date.fromisoformat(str(payload.get("business_date") or ""))
    except ValueError:
        raise RequestError(f"{req}: business_date {payload.get('business_date')!r} is not a "
                           "date (YYYY-MM-DD)") from None
    raw_lines = payload.get("lines")
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        raise RequestError(f"{req}: a manual journal has at least two lines")
    lines = []
    for n, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict) or not raw.get("account") or set(raw) - _LINE_KEYS:
            raise RequestError(f"{req}: line {n} needs an account, a debit or a credit "
                               f"(and only {', '.join(sorted(_LINE_KEYS))})")
        debit = _amount(req, n, "debit", raw.get("debit"))
        credit = _amount(req, n, "credit", raw.get("credit"))
        if (debit > 0) == (credit > 0):
            raise RequestError(f"{req}: line {n} has a debit or a credit, one of them only")
        lines.append(LineDraft(account=str(raw["account"]).strip(), debit=debit, credit=credit,
                               currency=str(raw.get("currency") or "CNY").strip(),
                               program=str(raw.get("program") or "").strip(),
                               counterparty=str(raw.get("counterparty") or "").strip(),
                               source=f"request:{req.pk}"))
    memo = str(payload.get("memo") or req.note or "").strip()
    draft = EntryDraft(book=book, business_date=day, idempotency_key=manual_journal_key(req),
                       purpose=MANUAL_PURPOSE, lines=tuple(lines),
                       source_run=f"request:{req.pk}", memo=memo[:500])
    try:
        drafts_check([draft])  # shapes, amounts, balance per currency
    except LedgerError as exc:
        raise RequestError(f"{req}: {exc}") from exc
    return draft


def _manual_check(req: ChangeRequest) -> None:
    """What the ledger would refuse, said at submission: book, accounts, period, balance."""
    from ledger.models import Account, Book, Period

    draft = _manual_draft(req)
    book = Book.objects.filter(code=draft.book).first()
    if book is None:
        raise RequestError(f"{req}: book {draft.book!r} does not exist")
    accounts = {a.code: a for a in Account.objects.filter(book=book)}
    for n, line in enumerate(draft.lines, start=1):
        account = accounts.get(line.account)
        if account is None or not account.is_active:
            state = "unknown" if account is None else "inactive"
            raise RequestError(f"{req}: line {n}: account {line.account!r} is {state} in "
                               f"{draft.book}")
        if account.currency != line.currency:
            raise RequestError(f"{req}: line {n}: currency {line.currency} differs from "
                               f"account {line.account}'s {account.currency}")
    closed = (Period.objects.filter(book=book, status="CLOSED")
              .order_by("-start_date").values_list("start_date", flat=True).first())
    if closed is not None and draft.business_date.replace(day=1) <= closed:
        raise RequestError(f"{req}: business date {draft.business_date} is in a closed period "
                           f"of {draft.book} (closed through {closed:%Y-%m})")


def _manual_apply(req: ChangeRequest) -> str:
    from ledger.domain.errors import LedgerError
    from ledger.services import journal_entries_post

    draft = _manual_draft(req)
    try:
        result = journal_entries_post(drafts=[draft])
    except LedgerError as exc:
        raise RequestError(f"{req}: the ledger refused the entry: {exc}") from exc
    if result.skipped_count:
        raise RequestError(f"{req}: entry {draft.idempotency_key} is already posted")
    total = sum((line.debit for line in draft.lines), Decimal(0))
    return (f"journal entry {result.entry_ids[draft.idempotency_key]} posted to {draft.book} "
            f"on {draft.business_date}: {len(draft.lines)} lines, {total} debit = credit")


# --- The release of a day's settlement payment ------------------------------------------------
# target: a statement (one counterparty, one platform's run of a business date); payload:
# {"amount": "<its net amount>"}, frozen at the request: approval releases exactly the amount
# the maker saw, and refuses when the statement's figures are not final or were released.


def _release_target(req: ChangeRequest):
    from lending.models import Statement

    statement = (Statement.objects.select_related("run", "counterparty")
                 .filter(pk=req.target_id).first())
    if statement is None:
        raise RequestError(f"{req}: statement {req.target_id} does not exist")
    if statement.provisional:
        raise RequestError(f"{req}: statement {statement} is provisional (run "
                           f"{statement.run_id} is {statement.run.state}): only a DONE run's "
                           "payment is released")
    if PaymentRelease.objects.filter(statement=statement).exists():
        raise RequestError(f"{req}: the payment of statement {statement} is already released")
    if not statement.net_amount:
        raise RequestError(f"{req}: statement {statement} nets to zero: no payment to release")
    asked = str((req.payload or {}).get("amount", ""))
    if set(req.payload or {}) != {"amount"} or asked != str(statement.net_amount):
        raise RequestError(f"{req}: the request releases {asked or 'no amount'}, the statement "
                           f"nets {statement.net_amount}: draft a new request")
    return statement


def _release_check(req: ChangeRequest) -> None:
    _release_target(req)


def _release_apply(req: ChangeRequest) -> str:
    statement = _release_target(req)
    PaymentRelease.objects.create(statement=statement, amount=statement.net_amount,
                                  currency=statement.currency, request=req,
                                  requested_by_id=req.created_by_id, released_by=req.decided_by)
    who = statement.counterparty.code
    direction = (f"{who} pays the bank" if statement.net_amount > 0
                 else f"the bank pays {who}")
    return (f"payment of {abs(statement.net_amount)} {statement.currency} for "
            f"{statement.business_date} released: {direction}")


# --- Loan write-offs (核销) ordered by staff -------------------------------------------------
# payload: {"note": "why", "effective_on": "2026-12-07"} (effective_on optional: today). The
# approval orders the write-off (Loan.write_off_ordered_on): the settlement run of the first
# business day on or after `effective_on` writes the loan off — every share's balances as
# WRITE_OFF movements, posted and on the statements like a write-off at the program's
# threshold — so the books move only through the run, never for a day already settled.


def _loan_write_off_target(req: ChangeRequest):
    from lending.domain.loan_state import OPEN_STATES
    from lending.models import Loan
    from lending.settlement.models import RunState, SettlementRun

    payload = req.payload or {}
    loan = Loan.objects.filter(pk=req.target_id).select_related("partner").first()
    if loan is None:
        raise RequestError(f"{req}: loan {req.target_id} does not exist")
    if loan.state not in OPEN_STATES:
        raise RequestError(f"{req}: loan {loan.loan_no} is {loan.state}; only an open loan "
                           f"is written off")
    if loan.write_off_ordered_on is not None:
        raise RequestError(f"{req}: loan {loan.loan_no}'s write-off was already ordered for "
                           f"{loan.write_off_ordered_on}")
    if not set(payload) <= {"note", "effective_on"} or not str(payload.get("note", "")).strip():
        raise RequestError(f"{req}: a loan write-off needs a note saying why (and may name "
                           f"its effective business day, effective_on)")
    try:
        effective = date.fromisoformat(str(payload.get("effective_on") or
                                           timezone.localdate().isoformat()))
    except ValueError as exc:
        raise RequestError(f"{req}: effective_on {payload.get('effective_on')!r} is not a "
                           f"date (YYYY-MM-DD)") from exc
    settled = (SettlementRun.objects.filter(partner=loan.partner, state=RunState.DONE)
               .order_by("-business_date").values_list("business_date", flat=True).first())
    if settled is not None and effective <= settled:
        raise RequestError(f"{req}: {loan.partner.code} has settled up to {settled}; a "
                           f"write-off takes effect in a later day's run, not on {effective}")
    return loan, effective


def _loan_write_off_check(req: ChangeRequest) -> None:
    _loan_write_off_target(req)


def _loan_write_off_apply(req: ChangeRequest) -> str:
    from lending.models import Loan

    loan, effective = _loan_write_off_target(req)
    Loan.objects.filter(pk=loan.pk).update(write_off_ordered_on=effective)
    return (f"loan {loan.loan_no}: write-off ordered; the run of the first business day from "
            f"{effective} writes it off")


HANDLERS: dict[str, Handler] = {
    RequestKind.PROGRAM_CHANGE: Handler(_program_check, _program_apply),
    RequestKind.BREAK_WRITE_OFF: Handler(_break_check, _break_apply),
    RequestKind.PARTNER_STATUS: Handler(_partner_status_check, _partner_status_apply),
    RequestKind.MANUAL_JOURNAL: Handler(_manual_check, _manual_apply, one_open_per_target=False),
    RequestKind.PAYMENT_RELEASE: Handler(_release_check, _release_apply),
    RequestKind.LOAN_WRITE_OFF: Handler(_loan_write_off_check, _loan_write_off_apply),
}


# --- The life of a request ---------------------------------------------------------------------


def _locked(req: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_for_update().get(pk=req.pk)


@transaction.atomic
def request_create(*, kind: str, target_id: int, payload: dict, note: str, by,
                   submit: bool = True) -> ChangeRequest:
    """Draft a request (and, by default, submit it at once)."""
    if kind not in HANDLERS:
        raise RequestError(f"unknown request kind {kind!r}")
    open_ = ChangeRequest.objects.filter(kind=kind, target_id=target_id, status__in=[
        RequestStatus.DRAFT, RequestStatus.PENDING_APPROVAL]).first()
    if open_ is not None and HANDLERS[kind].one_open_per_target:
        raise RequestError(f"{open_} about the same {kind.lower()} target is still open")
    req = ChangeRequest.objects.create(kind=kind, target_id=target_id, payload=payload or {},
                                       note=note or "", created_by=by)
    return request_submit(req=req, by=by) if submit else req


@transaction.atomic
def request_submit(*, req: ChangeRequest, by) -> ChangeRequest:
    req = _locked(req)
    if req.status not in (RequestStatus.DRAFT, RequestStatus.REJECTED):
        raise RequestError(f"{req} is {req.status}; only a draft is submitted")
    HANDLERS[req.kind].check(req)
    req.status, req.submitted_at = RequestStatus.PENDING_APPROVAL, timezone.now()
    req.decided_by, req.decided_at, req.rejection_reason = None, None, ""
    req.save(update_fields=["status", "submitted_at", "decided_by", "decided_at",
                            "rejection_reason"])
    return req


@transaction.atomic
def request_edit(*, req: ChangeRequest, by, payload: dict | None = None,
                 note: str | None = None) -> ChangeRequest:
    """An edit sends the request back to draft and clears its approval; the editor (when not
    the maker) may no longer approve it."""
    req = _locked(req)
    if req.status == RequestStatus.APPROVED:
        raise RequestError(f"{req} is approved and applied; it cannot be edited")
    if payload is not None:
        req.payload = payload
    if note is not None:
        req.note = note
    if by.pk != req.created_by_id:
        req.editor_ids = four_eyes.editors_with(req.editor_ids, by)
    req.status, req.submitted_at, req.decided_by, req.decided_at = (
        RequestStatus.DRAFT, None, None, None)
    req.save()
    return req


@transaction.atomic
def request_approve(*, req: ChangeRequest, by, require_role: bool = True) -> ChangeRequest:
    """A second person with the approver role approves: the change is applied now."""
    req = _locked(req)
    if req.status != RequestStatus.PENDING_APPROVAL:
        raise RequestError(f"{req} is {req.status}, not pending approval")
    four_eyes.checker_check(what=str(req), checker=by, maker_id=req.created_by_id,
                            editor_ids=req.editor_ids, require_role=require_role,
                            error=RequestError)
    req.status, req.decided_by, req.decided_at = RequestStatus.APPROVED, by, timezone.now()
    req.applied_result = HANDLERS[req.kind].apply(req)
    req.save(update_fields=["status", "decided_by", "decided_at", "applied_result"])
    return req


@transaction.atomic
def request_reject(*, req: ChangeRequest, by, reason: str,
                   require_role: bool = True) -> ChangeRequest:
    req = _locked(req)
    if req.status != RequestStatus.PENDING_APPROVAL:
        raise RequestError(f"{req} is {req.status}, not pending approval")
    four_eyes.checker_check(what=str(req), checker=by, maker_id=req.created_by_id,
                            editor_ids=req.editor_ids, require_role=require_role,
                            error=RequestError)
    req.rejection_reason = four_eyes.reason_check(what=str(req), reason=reason,
                                                  error=RequestError)
    req.status, req.decided_by, req.decided_at = RequestStatus.REJECTED, by, timezone.now()
    req.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return req
