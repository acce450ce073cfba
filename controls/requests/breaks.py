"""BREAK_WRITE_OFF: a reconciliation break written off, with a note."""

from __future__ import annotations

from controls.models import ChangeRequest
from controls.requests.base import Handler, RequestError


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


HANDLER = Handler(_break_check, _break_apply)
