"""Maker-checker, defined once: who may approve a request, and what an edit does to it.

Every flow that needs four eyes (agreement versions, change requests for programs and break
write-offs) asks these functions; none restates the rule.

- A request is frozen once submitted: an edit sends it back to draft and clears approvals
  (`edited`), and the editor is remembered.
- The checker must differ from the maker and from every editor, and (for staff acting through
  the admin) hold the approver role's permission.
- A rejection needs a reason.
"""

from __future__ import annotations

APPROVE_PERMISSION = "controls.approve_request"


class FourEyesViolation(Exception):
    """A maker-checker rule refused an approval, a rejection or an edit."""

    code = "FOUR_EYES"


def checker_check(*, what: str, checker, maker_id: int | None, editor_ids, require_role: bool,
                  error: type[Exception] = FourEyesViolation) -> None:
    """Raise `error` unless `checker` may approve or reject `what`."""
    if checker is None or checker.pk is None:
        raise error(f"{what}: an approval needs a named person")
    if maker_id is not None and checker.pk == maker_id:
        raise error(f"{what} was drafted by {checker}; another person must approve")
    if checker.pk in set(editor_ids or ()):
        raise error(f"{what} was edited by {checker}; a person who did not edit it must approve")
    if require_role and not checker.has_perm(APPROVE_PERMISSION):
        raise error(f"{what}: {checker} does not hold the approver role")


def reason_check(*, what: str, reason: str, error: type[Exception] = FourEyesViolation) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise error(f"{what}: a rejection needs a reason")
    return reason


def editors_with(editor_ids, user) -> list[int]:
    """The editors after `user` edited (kept in order, once each)."""
    ids = list(editor_ids or [])
    if user is not None and user.pk is not None and user.pk not in ids:
        ids.append(user.pk)
    return ids
