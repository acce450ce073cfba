"""QUARANTINE_CORRECTION: a staff correction of a quarantined row that moves money, approved by
a second person (controls.four_eyes), then staged for its run (lending.intake.corrections).

Imported only by controls.requests.registry (the services module imports controls lazily, so
importing either first never meets a half-initialised module)."""

from __future__ import annotations

from controls.requests.base import Handler, RequestError
from lending.intake import corrections


def _check(req) -> None:
    try:
        corrections.request_check(req)
    except corrections.CorrectionError as exc:
        raise RequestError(str(exc)) from None


def _apply(req) -> str:
    try:
        return corrections.request_apply(req)
    except corrections.CorrectionError as exc:
        raise RequestError(str(exc)) from None


HANDLER = Handler(_check, _apply)
