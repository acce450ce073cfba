"""A reversal's take-back of the advance the reversed payment left (DOMAIN §8.3, §8.8): what
that advance paid since, unpaid again when suspense is short of it."""

from __future__ import annotations

from decimal import Decimal

from .loan_claims import ClaimsDay
from .loan_penalty import pay_inst_penalty
from .loan_state import COMPONENT_FIELD, Event
from .money import ZERO
from .split import split_principal

# What the borrower's advance pays when an instalment falls due (§8.8).
_ADVANCE_APPLIED = frozenset({"SUSPENSE_APPLY", "SUSP_RECOVERY"})


class AdvanceReversalDay(ClaimsDay):
    """The part of a reversal that takes back what the reversed payment's advance paid."""

    def advance_short(self, event: Event) -> Decimal:
        """What reversing `event` would leave suspense short of, beyond what the applications
        of its advance since (and refunds of it) can give back: > 0 means it cannot be undone
        exactly (the reversal is refused, nothing applied)."""
        moved = sum((m[4] for m in event.original if m[2] == "OVERPAY"), ZERO) - sum(
            (m[4] for m in event.original if m[2] == "REFUND"), ZERO)
        deficit = moved - self.loan.overpaid
        if deficit <= 0:
            return ZERO
        available = sum((a for _c, _s, parts in self._advance_groups(event)
                         for _ev, a in parts.values()), ZERO)
        return max(deficit - available, ZERO)

    def _advance_groups(self, event: Event
                        ) -> list[tuple[str, int | None, dict[int, tuple[str, Decimal]]]]:
        """What suspense paid (and refunded at closing) since the reversed payment, net of
        earlier take-backs, as (component, instalment, {funder: (event, amount)}) in order."""
        applied = list(event.advance_applied)
        same_run = [i for i, m in enumerate(self.out.movements)
                    if m[6] == event.original_txn_id and not m[7]]
        tail = self.out.movements[same_run[-1] + 1:] if same_run else self.out.movements
        if same_run:
            applied = []  # applied in this run: only what came after it here
        applied += [m for m in tail if m[2] in _ADVANCE_APPLIED and (m[6] is None or m[7])
                    or m[2] == "REFUND" and not m[7]]
        # net each application of its negations (an earlier take-back), latest first
        open_: list[list] = []
        for (_lid, fid, ev, comp, amount, seq, _txn, rev, _acc) in applied:
            if not rev:
                open_.append([fid, ev, comp, amount, seq])
                continue
            left = -amount
            for row in reversed(open_):
                if left <= 0:
                    break
                if (row[0], row[1], row[2], row[4]) == (fid, ev, comp, seq) and row[3] > 0:
                    took = min(row[3], left)
                    row[3] -= took
                    left -= took
        groups: list[tuple[str, int | None, dict[int, tuple[str, Decimal]]]] = []
        for fid, ev, comp, amount, seq in open_:
            if amount <= 0:
                continue
            if not groups or groups[-1][:2] != (comp, seq) or fid in groups[-1][2]:
                groups.append((comp, seq, {}))
            groups[-1][2][fid] = (ev, amount)
        return groups

    def _take_back_advance(self, event: Event, short: Decimal) -> None:
        """The reversed payment left an advance in suspense that has since paid instalments
        (§8.8): as if it had never been made (§8.3), the last `short` of what suspense paid is
        unpaid again — the tail of the waterfall, latest application first, each component's
        part split between funders as it was applied — and suspense is whole again (an advance
        refunded at closing is taken back from the refund). Penalty on it then runs from the
        due date like any payment reversed (_penalty_since_due). loan_day refuses a reversal
        whose shortfall this cannot cover (advance_short)."""
        loan = self.loan
        for comp, seq, parts in reversed(self._advance_groups(event)):
            if short <= 0:
                break
            total = sum((a for _ev, a in parts.values()), ZERO)
            take = min(short, total)
            held = {fid: a for fid, (_ev, a) in parts.items()}
            residual = loan.residual if loan.residual in held else max(held, key=held.get)
            for fid, part in split_principal(take, held, residual).items():
                if not part:
                    continue
                if comp in COMPONENT_FIELD:
                    share = loan.shares[fid]
                    attr = COMPONENT_FIELD[comp]
                    setattr(share, attr, getattr(share, attr) + part)
                inst = self._inst(seq or 0)
                if inst is not None and comp in ("PENALTY", "COMPOUND"):
                    pay_inst_penalty(inst, comp, -part)
                elif inst is not None and comp in ("PRINCIPAL", "INTEREST"):
                    if comp == "PRINCIPAL":
                        inst.principal_paid -= part
                    else:
                        inst.interest_paid -= part
                    inst.dirty = True
                    if inst.seq <= loan.billed_seq:
                        inst.status, inst.paid_on = "DUE", None
                self.move(fid, parts[fid][0], comp, -part, seq, event.txn_id, reversal=True)
                loan.overpaid += part
            short -= take
