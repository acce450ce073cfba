"""What every kind of change request shares: its error and the shape of its handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controls import four_eyes
from controls.models import ChangeRequest


class RequestError(four_eyes.FourEyesViolation):
    code = "CHANGE_REQUEST"


@dataclass(frozen=True)
class Handler:
    """A kind of request: `check` raises `RequestError` unless the payload can be applied now
    (at submission and again at approval); `apply` applies it and says what it did."""

    check: Callable[[ChangeRequest], None]
    apply: Callable[[ChangeRequest], str]
    one_open_per_target: bool = True  # False: requests without a target (manual journals)
