"""The ledger check registry behind ``manage.py check_ledger``.

A check is a callable ``check(*, as_of: date | None) -> list[str]`` returning problems (empty
when all is well); a check that has a partner dimension also takes ``partner_id`` and then
looks only at that partner's files, loans, statements and books (a settlement run checks its
own partner: one platform's late or broken file never fails another's run). The ledger's own
checks hold for every entry whatever the partner, so they take no partner. Other apps add
theirs from ``AppConfig.ready()``::

    from ledger import checks
    checks.register(subledger_equals_gl)              # or use @checks.register
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date

from ledger import selectors

Check = Callable[..., list[str]]

_REGISTRY: dict[str, Check] = {}


def register(check: Check, *, name: str | None = None) -> Check:
    """Add a check (idempotent per name); usable as a decorator."""
    _REGISTRY[name or f"{check.__module__}.{check.__qualname__}"] = check
    return check


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> dict[str, Check]:
    return dict(_REGISTRY)


def _takes_partner(check: Check) -> bool:
    return "partner_id" in inspect.signature(check).parameters


def run_checks(*, as_of: date | None = None, partner_id: int | None = None) -> list[str]:
    """Run every registered check; a check that raises is itself reported as a problem.
    With `partner_id`, checks with a partner dimension look at that partner only."""
    problems: list[str] = []
    for name, check in _REGISTRY.items():
        try:
            found = (check(as_of=as_of, partner_id=partner_id) if _takes_partner(check)
                     else check(as_of=as_of))
        except Exception as exc:  # noqa: BLE001 - a broken check is a problem to report
            found = [f"check failed: {type(exc).__name__}: {exc}"]
        problems.extend(f"[{name}] {p}" for p in found)
    return problems


def entries_balance(*, as_of: date | None = None) -> list[str]:
    """Every entry has lines and balances per currency."""
    return selectors.entries_unbalanced_list(as_of=as_of)


def trial_balances_hold(*, as_of: date | None = None) -> list[str]:
    """In every book and currency, debit balances equal credit balances."""
    problems = []
    day = as_of or date.max
    for code in selectors.book_codes_list():
        tb = selectors.trial_balance_list(book=code, as_of=day)
        for currency, (debits, credits) in sorted(tb.totals().items()):
            if debits != credits:
                problems.append(
                    f"trial balance of {code} in {currency} does not hold: debit balances"
                    f" {debits}, credit balances {credits}"
                )
    return problems


register(entries_balance, name="ledger.entries_balance")
register(trial_balances_hold, name="ledger.trial_balances_hold")
