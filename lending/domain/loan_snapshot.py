"""A loan's state as plain JSON values and back (DOMAIN §8.3: the state a reversal rebuilds from).

The settlement keeps the loan's state at the start of each business day on which a repayment
of it was applied (lending_loansnapshot). Reversing that repayment later replays the loan from
there without it (lending.domain.loan_day.replay_without). Decimals are kept as their exact
strings, dates as ISO dates; every field of LoanState, Share and Inst is kept, by name, so a
field added later is kept too (and one missing from an older snapshot takes its default).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date
from decimal import Decimal
from typing import Any

from .loan_state import Inst, LoanState, Share


def _codec(cls: type) -> dict[str, type | None]:
    """Each field's value type that JSON does not have (Decimal, date), else None."""
    hints = typing.get_type_hints(cls)
    out: dict[str, type | None] = {}
    for f in dataclasses.fields(cls):
        kinds = {hints[f.name], *typing.get_args(hints[f.name])}
        out[f.name] = Decimal if Decimal in kinds else date if date in kinds else None
    return out


_CODECS: dict[type, dict[str, type | None]] = {
    cls: _codec(cls) for cls in (LoanState, Share, Inst)}
_NESTED = ("shares", "insts")


def _dump(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in _CODECS[type(obj)].items():
        if name in _NESTED:
            continue
        v = getattr(obj, name)
        out[name] = v if v is None or kind is None else (
            str(v) if kind is Decimal else v.isoformat())
    return out


def _load(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for name, kind in _CODECS[cls].items():
        if name in _NESTED or name not in data:
            continue
        v = data[name]
        kwargs[name] = v if v is None or kind is None else (
            Decimal(v) if kind is Decimal else date.fromisoformat(v))
    return cls(**kwargs, **({"shares": {}, "insts": []} if cls is LoanState else {}))


def dump_loan(loan: LoanState) -> dict[str, Any]:
    """The loan's state as JSON values (shares in funder order, instalments in seq order)."""
    out = _dump(loan)
    out["shares"] = [_dump(s) for _f, s in sorted(loan.shares.items())]
    out["insts"] = [_dump(i) for i in loan.insts]
    return out


def load_loan(data: dict[str, Any]) -> LoanState:
    """The state `dump_loan` kept, exactly (Decimals with their exponent, instalments clean)."""
    loan = _load(LoanState, data)
    for s in data["shares"]:
        share = _load(Share, s)
        loan.shares[share.funder_id] = share
    loan.insts = [_load(Inst, i) for i in data["insts"]]
    return loan
