"""Four-eyes change requests: a program change, a break write-off or a partner's status change
takes effect only when a second person with the approver role approves it (rules:
controls.four_eyes).

Every service is keyword-only and atomic and raises `RequestError` naming what is wrong.
A kind is a `Handler`: `check` says whether the payload can be applied now (at submission and
again at approval), `apply` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controls import four_eyes
from controls.models import ChangeRequest, RequestKind, RequestStatus


class RequestError(four_eyes.FourEyesViolation):
    code = "CHANGE_REQUEST"


@dataclass(frozen=True)
class Handler:
    check: Callable[[ChangeRequest], None]
    apply: Callable[[ChangeRequest], str]


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


HANDLERS: dict[str, Handler] = {
    RequestKind.PROGRAM_CHANGE: Handler(_program_check, _program_apply),
    RequestKind.BREAK_WRITE_OFF: Handler(_break_check, _break_apply),
    RequestKind.PARTNER_STATUS: Handler(_partner_status_check, _partner_status_apply),
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
    if open_ is not None:
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
