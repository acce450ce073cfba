"""LIMIT_THRESHOLD and LIMIT_BANK_FIGURE: a limit's threshold or one of the bank's figures
(the effective-dated rows R2–R5 read, controls.limits) entered or changed only when a second
person approves it.

target: the row changed, or 0 for a new row. payload: the row's field values as JSON (decimals
and dates as text): every field for a new row, the changed ones for a change. The row is built
and validated (types, ranges, one row per code or figure and day) at submission and again at
approval, so a request that no longer fits is refused, never half-applied.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from controls.models import ChangeRequest, LimitBankFigure, LimitThreshold, RequestKind
from controls.requests.base import Handler, RequestError

NEW_ROW = 0  # target_id of a request that enters a new row

ROW_MODELS: dict[str, type[models.Model]] = {
    RequestKind.LIMIT_THRESHOLD: LimitThreshold,
    RequestKind.LIMIT_BANK_FIGURE: LimitBankFigure,
}
# What a row is about: a new value of another limit or figure is a new row, not a change.
IDENTITY: dict[str, str] = {RequestKind.LIMIT_THRESHOLD: "code", RequestKind.LIMIT_BANK_FIGURE: "figure"}


def _row_with(req: ChangeRequest) -> models.Model:
    model = ROW_MODELS[req.kind]
    payload = req.payload or {}
    if not payload:
        raise RequestError(f"{req}: nothing to enter or change")
    if req.target_id == NEW_ROW:
        row = model()
    else:
        found = model._default_manager.filter(pk=req.target_id).first()
        if found is None:
            raise RequestError(f"{req}: {model._meta.verbose_name} {req.target_id} does not "
                               "exist")
        row = found
    fields = {f.name: f for f in model._meta.concrete_fields if not f.primary_key}
    for name, value in payload.items():
        if name not in fields or (req.target_id != NEW_ROW and name == IDENTITY[req.kind]):
            raise RequestError(f"{req}: {name!r} is not a field a request may change")
        try:
            setattr(row, fields[name].attname, fields[name].to_python(value))
        except ValidationError as exc:
            raise RequestError(f"{req}: {name}: {'; '.join(exc.messages)}") from exc
    try:
        row.full_clean()  # field ranges, check constraints, one row per code and day
    except ValidationError as exc:
        raise RequestError(f"{req}: {_said(exc)}") from exc
    return row


def _said(exc: ValidationError) -> str:
    """The errors, each named by its field (a form shows them so; here they are one line)."""
    if not hasattr(exc, "error_dict"):
        return "; ".join(exc.messages)
    return "; ".join(message if field == NON_FIELD_ERRORS else f"{field}: {message}"
                     for field, messages in exc.message_dict.items() for message in messages)


def _check(req: ChangeRequest) -> None:
    _row_with(req)


def _apply(req: ChangeRequest) -> str:
    row = _row_with(req)
    row.save()
    if req.target_id == NEW_ROW:
        return f"{row} entered"
    return f"{row} changed: {', '.join(sorted(req.payload))}"


HANDLER = Handler(_check, _apply)
