"""LOAN_WRITE_OFF: a loan's write-off (核销) ordered by staff, done by a later run."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from controls.models import ChangeRequest
from controls.requests.base import Handler, RequestError

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


HANDLER = Handler(_loan_write_off_check, _loan_write_off_apply)
