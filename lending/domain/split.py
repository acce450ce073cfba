"""Funder split: share an amount between the funders of a loan, exactly to the cent.

Rule (DESIGN §5): each non-residual funder gets HALF_UP(amount × its weight / Σ weights); the
residual owner (the partner by default, an agreement setting) gets the rest, so the parts
always sum to the amount. Funders are processed in sorted key order, so the result does not
depend on the order they are listed in.

Two corner cases the plain rule gets wrong are repaired deterministically:

- rounding up the non-residual parts can exceed the amount (0.01 shared 50/50 by two
  non-residual funders): the parts rounded up the most (ties: smallest key) give back 0.01 each
  until the residual is 0; no part is ever negative;
- a principal split must not give a funder more than it has outstanding: the residual's excess
  moves to the funders short of their exact share the most (ties: smallest key).

Computation is in integer cents and integer weights, so HALF_UP ties are exact.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, TypeVar

from .daycount import DEFAULT_DAY_COUNT, DayCount, year_days
from .money import ZERO, DomainError, from_cents, half_up_div, q2, to_cents
from .schedule import Movement, daily_interest_unrounded

FunderKey = TypeVar("FunderKey", bound=Hashable)  # a funder's id (int in the run, str in tests)


class SplitError(DomainError):
    """The amount cannot be split with these weights."""


class InterestRule(StrEnum):
    PRO_RATA = "PRO_RATA"
    BANK_FIXED_YIELD = "BANK_FIXED_YIELD"  # bank earns its yield; the excess is a service fee
    PER_FUNDER_RATE = "PER_FUNDER_RATE"  # each funder its own rate; borrower pays the blend


class PenaltyRule(StrEnum):
    PRO_RATA = "PRO_RATA"
    SINGLE_FUNDER = "SINGLE_FUNDER"  # all to one beneficiary (platform, or guarantor after 代偿)


class YearFraction(NamedTuple):
    """An exact year fraction num/den: one month is (1, 12), 31 days at ACT/360 is (31, 360)."""

    num: int
    den: int


def months_fraction(months: int = 1) -> YearFraction:
    return YearFraction(months, 12)


def days_fraction(days: int, basis: DayCount = DEFAULT_DAY_COUNT) -> YearFraction:
    return YearFraction(days, year_days(basis))


def _int_weights(weights: Mapping[str, Decimal]) -> tuple[list[str], list[int], int]:
    keys = sorted(weights)
    values = [weights[k] for k in keys]
    scale = 0
    for v in values:
        if v < 0:
            raise SplitError(f"negative weight {v}")
        exponent = v.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            scale = -exponent
    ints = [int(v.scaleb(scale)) for v in values]
    return keys, ints, sum(ints)


def _apportion(
    cents: int, keys: list[str], ints: list[int], total_w: int, residual: str, capped: bool
) -> dict[str, Decimal]:
    """Split ``cents`` ≥ 0; with ``capped`` no part exceeds its own weight (weights are cents)."""
    parts: dict[str, int] = {}
    # err = part × W − exact × W: > 0 rounded up, < 0 rounded down (common denominator W).
    err: dict[str, int] = {}
    rest = cents
    for key, w in zip(keys, ints, strict=True):
        if key == residual:
            continue
        exact_num = cents * w
        part = half_up_div(exact_num, total_w)
        parts[key] = part
        err[key] = part * total_w - exact_num
        rest -= part
    if rest < 0:
        for key in sorted(parts, key=lambda k: (-err[k], k)):
            if rest == 0:
                break
            if err[key] > 0:
                parts[key] -= 1
                err[key] -= total_w
                rest += 1
    if capped:
        cap = dict(zip(keys, ints, strict=True))
        while rest > cap[residual]:
            open_keys = [k for k in parts if parts[k] < cap[k]]
            key = min(open_keys, key=lambda k: (err[k], k))
            parts[key] += 1
            err[key] += total_w
            rest -= 1
    parts[residual] = rest
    return {key: from_cents(parts[key]) for key in keys}


def weighted_parts(amount: Decimal, weights: Mapping[FunderKey, Decimal], residual: FunderKey
                   ) -> dict[FunderKey, Decimal]:
    """What accrues (interest, penalty, compound) shared by the share weights: each
    non-residual funder HALF_UP(amount × weight), the residual funder the rest.

    The weights are the shares' stored accrual / penalty weights (Σ = 1 up to their 12
    places); unlike :func:`split` they are not divided by their sum, because the derived
    positions in SQL (lending/sql/positions.sql) apply exactly this rule and the engine's
    crystallised amounts must continue them to the cent (a differential test checks the two).

    The residual part never has the other sign than the amount for the weights an agreement
    can give (``lending.services.agreements.agreement_terms_check``: at most two funders
    besides the residual owner, whose weight is not zero). Proof: each HALF_UP part is at
    most its exact share + ½ cent, so two parts exceed the exact Σ by at most one cent; the
    exact Σ is below the amount by the residual's weight > 0; a sum of whole cents below
    amount + 1 cent is at most the amount (the same for a negative amount, mirrored).
    `tests/unit/test_domain_weighted_parts.py` checks it with Hypothesis. Weights outside that
    (three rounded-up parts, or a residual weight of 0 with two others) raise `SplitError`
    rather than give a funder a part of the wrong sign: unlike :func:`split`, there is no
    give-back here, because the SQL twin has none.
    """
    out = {k: (ZERO if k == residual else q2(amount * w)) for k, w in weights.items()}
    out[residual] = amount - sum((v for k, v in out.items() if k != residual), ZERO)
    if out[residual] * amount < 0:
        raise SplitError(
            f"weighted split of {amount} by {dict(weights)} leaves the residual owner "
            f"{out[residual]}: these weights are outside what an agreement may give")
    return out


def split(amount: Decimal, weights: Mapping[str, Decimal], residual: str) -> dict[str, Decimal]:
    """Split ``amount`` by ``weights`` (ratios or balances); keys in sorted order, Σ = amount.

    A negative amount (a reversal) splits as the negation of the positive split.
    """
    if residual not in weights:
        raise SplitError(f"residual owner {residual!r} is not among the funders")
    cents = to_cents(amount)
    keys, ints, total_w = _int_weights(weights)
    if cents == 0:
        return {key: ZERO for key in keys}
    if total_w == 0:
        raise SplitError("all weights are zero")
    if cents < 0:
        return {k: -v for k, v in _apportion(-cents, keys, ints, total_w, residual, False).items()}
    return _apportion(cents, keys, ints, total_w, residual, False)


def split_principal(
    amount: Decimal, outstanding: Mapping[str, Decimal], residual: str
) -> dict[str, Decimal]:
    """Split a principal repayment by the funders' CURRENT outstanding principal.

    No share exceeds what the funder has outstanding; repaying the whole balance returns
    every funder's outstanding exactly, so all shares end at 0.
    """
    if residual not in outstanding:
        raise SplitError(f"residual owner {residual!r} is not among the funders")
    cents = to_cents(amount)
    keys = sorted(outstanding)
    ints = [to_cents(outstanding[k]) for k in keys]
    total = sum(ints)
    if cents < 0 or any(v < 0 for v in ints):
        raise SplitError("principal repayment and outstanding balances must not be negative")
    if cents > total:
        raise SplitError(f"principal repayment {amount} exceeds outstanding {from_cents(total)}")
    if cents == total:
        return {k: from_cents(v) for k, v in zip(keys, ints, strict=True)}
    return _apportion(cents, keys, ints, total, residual, True)


def blended_rate(principal: Mapping[str, Decimal], rates: Mapping[str, Decimal]) -> Decimal:
    """Σ principal_k × rate_k / Σ principal_k: the borrower's rate under PER_FUNDER_RATE."""
    total = sum(principal.values(), Decimal(0))
    if total <= 0:
        raise SplitError("blended rate needs a positive principal")
    return sum((principal[k] * rates[k] for k in principal), Decimal(0)) / total


@dataclass(frozen=True, slots=True)
class InterestSplit:
    """``shares``: what each funder earns (Σ = interest). ``gross``: the pro-rata shares.

    ``service_fee[k]`` = gross − share: what funder k pays the residual owner as a service fee
    (BANK_FIXED_YIELD; negative if its yield exceeds its pro-rata share). Book the gross income
    and the fee as separate lines (DOMAIN §3.5).
    """

    shares: dict[str, Decimal]
    gross: dict[str, Decimal]
    service_fee: dict[str, Decimal]


def split_interest(
    interest: Decimal,
    rule: InterestRule | str,
    *,
    weights: Mapping[str, Decimal],
    residual: str,
    principal: Mapping[str, Decimal] | None = None,
    rates: Mapping[str, Decimal] | None = None,
    period: YearFraction | None = None,
) -> InterestSplit:
    """Split a period's borrower interest between funders by the agreement's interest rule.

    - PRO_RATA: by ``weights`` (principal ratios or current balances).
    - BANK_FIXED_YIELD: each funder in ``rates`` (its yield) gets HALF_UP(principal × yield ×
      period); the rest goes to the other funders by ``weights`` (residual takes the rest). If
      the interest is below the fixed entitlements, the fixed-yield funders share it in
      proportion to their entitlements.
    - PER_FUNDER_RATE: by principal_k × rate_k (each funder's own rate); the rounding
      difference against the borrower's blended interest falls to the residual owner.

    Apply it to the period's interest (the accrual); split later cash receipts of interest
    PRO_RATA with weights = each funder's interest receivable.
    """
    rule = InterestRule(rule)
    gross = split(interest, weights, residual)
    no_fee = {k: ZERO for k in gross}
    if rule == InterestRule.PRO_RATA:
        return InterestSplit(gross, gross, no_fee)
    if principal is None or rates is None:
        raise SplitError(f"{rule} needs principal and rates per funder")
    if rule == InterestRule.PER_FUNDER_RATE:
        own = {k: principal.get(k, ZERO) * rates.get(k, ZERO) for k in weights}
        shares = split(interest, own, residual)
        return InterestSplit(shares, gross, no_fee)
    if period is None:
        raise SplitError("BANK_FIXED_YIELD needs the accrual period")
    entitled = {k: q2(principal[k] * rates[k] * period.num / period.den) for k in sorted(rates)}
    if residual in entitled:
        raise SplitError("the residual owner cannot be a fixed-yield funder")
    fixed_total = sum(entitled.values(), ZERO)
    if fixed_total <= interest:
        others = {k: w for k, w in weights.items() if k not in entitled}
        if not any(others.values()):  # nobody else has a weight: the residual owner takes it
            others = {**others, residual: Decimal(1)}
        rest = split(interest - fixed_total, others, residual)
        shares = {k: entitled.get(k, rest.get(k, ZERO)) for k in sorted(weights)}
    else:
        biggest = min(entitled, key=lambda k: (-entitled[k], k))
        part = split(interest, entitled, biggest)
        shares = {k: part.get(k, ZERO) for k in sorted(weights)}
    fee = {k: gross[k] - shares[k] if k in entitled else ZERO for k in shares}
    return InterestSplit(shares, gross, fee)


def split_penalty(
    amount: Decimal,
    rule: PenaltyRule | str,
    *,
    weights: Mapping[str, Decimal],
    residual: str,
    beneficiary: str | None = None,
) -> dict[str, Decimal]:
    """Split penalty or compound interest: PRO_RATA by ``weights``, or all to ``beneficiary``."""
    rule = PenaltyRule(rule)
    if rule == PenaltyRule.PRO_RATA:
        return split(amount, weights, residual)
    if beneficiary is None or beneficiary not in weights:
        raise SplitError("SINGLE_FUNDER penalty rule needs a beneficiary among the funders")
    return {k: amount if k == beneficiary else ZERO for k in sorted(weights)}


def daily_interest_by_funder(
    annual_rate: Decimal,
    movements: Mapping[str, Iterable[Movement | tuple[date, Decimal]]],
    from_day: date,
    to_day: date,
    residual: str,
    basis: DayCount = DEFAULT_DAY_COUNT,
    *,
    include_first: bool = False,
    include_last: bool = True,
) -> dict[str, Decimal]:
    """随借随还 interest accrued per funder on its own principal movements.

    The borrower's interest is HALF_UP of the unrounded total; each non-residual funder gets
    HALF_UP of its own unrounded accrual and the residual owner the rest (Σ = borrower).
    """
    if residual not in movements:
        raise SplitError(f"residual owner {residual!r} is not among the funders")
    raw = {
        k: daily_interest_unrounded(
            annual_rate,
            movements[k],
            from_day,
            to_day,
            basis,
            include_first=include_first,
            include_last=include_last,
        )
        for k in sorted(movements)
    }
    total = q2(sum(raw.values(), Decimal(0)))
    parts = {k: q2(v) for k, v in raw.items() if k != residual}
    rest = total - sum(parts.values(), ZERO)
    if rest < 0:
        for k in sorted(parts, key=lambda k: (raw[k] - parts[k], k)):
            if rest >= 0:
                break
            if parts[k] > raw[k]:
                parts[k] -= Decimal("0.01")
                rest += Decimal("0.01")
    parts[residual] = rest
    return {k: parts[k] for k in sorted(parts)}
