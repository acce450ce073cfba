"""The life of a change request: drafted, submitted, edited (back to draft), approved
(applied by its kind's handler, controls.requests.registry) or rejected with a reason. The
maker-checker rules are controls.four_eyes'."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from controls import four_eyes
from controls.models import ChangeRequest, RequestStatus
from controls.requests.base import RequestError
from controls.requests.registry import HANDLERS


def _locked(req: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_for_update().get(pk=req.pk)


@transaction.atomic
def request_create(*, kind: str, target_id: int, payload: dict, note: str, by,
                   submit: bool = True) -> ChangeRequest:
    """Draft a request (and, by default, submit it at once)."""
    if kind not in HANDLERS:
        raise RequestError(f"unknown request kind {kind!r}")
    open_ = ChangeRequest.objects.filter(kind=kind, target_id=target_id, status__in=[
        RequestStatus.DRAFT, RequestStatus.PENDING_APPROVAL]).order_by("pk").first()
    # target 0 is no target (a manual journal) or a new row (a limit's): nothing to collide with
    if open_ is not None and target_id and HANDLERS[kind].one_open_per_target:
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
