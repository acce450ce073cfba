"""PROGRAM_CHANGE: a change to a program's fields (R5 checked on an active program)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from controls.models import ChangeRequest
from controls.requests.base import Handler, RequestError

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


HANDLER = Handler(_program_check, _program_apply)
