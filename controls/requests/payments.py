"""PAYMENT_RELEASE: the release of a day's settlement payment with one counterparty."""

from __future__ import annotations

from controls.models import ChangeRequest, PaymentRelease
from controls.requests.base import Handler, RequestError

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
    if req.decided_by is None:  # lifecycle.request_approve sets it before applying
        raise RequestError(f"{req}: a release needs the approver who released it")
    PaymentRelease.objects.create(statement=statement, amount=statement.net_amount,
                                  currency=statement.currency, request=req,
                                  requested_by_id=req.created_by_id, released_by=req.decided_by)
    who = statement.counterparty.code
    direction = (f"{who} pays the bank" if statement.net_amount > 0
                 else f"the bank pays {who}")
    return (f"payment of {abs(statement.net_amount)} {statement.currency} for "
            f"{statement.business_date} released: {direction}")


HANDLER = Handler(_release_check, _release_apply)
