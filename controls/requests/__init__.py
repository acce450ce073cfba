"""Four-eyes change requests: a program change, a break write-off, a partner's status change, a
manual journal entry, the release of a day's settlement payment or a loan's write-off takes
effect only when a second person with the approver role approves it (rules:
controls.four_eyes).

Every service is keyword-only and atomic and raises `RequestError` naming what is wrong.
A kind is a `Handler` (controls.requests.base) in a module of its own here, listed in
controls.requests.registry: `check` says whether the payload can be applied now (at
submission and again at approval), `apply` applies it. The life of a request (create, submit,
edit, approve, reject) is controls.requests.lifecycle.
"""

from controls.requests.base import Handler, RequestError
from controls.requests.journals import MANUAL_PURPOSE, manual_journal_key
from controls.requests.lifecycle import (
    request_approve,
    request_create,
    request_edit,
    request_reject,
    request_submit,
)
from controls.requests.registry import HANDLERS

__all__ = ["HANDLERS", "MANUAL_PURPOSE", "Handler", "RequestError", "manual_journal_key",
           "request_approve", "request_create", "request_edit", "request_reject",
           "request_submit"]
