"""The oracle model's losses (a mixin of tests/oracle/model.LoanModel), from DOMAIN.md only:
the automatic write-off (核销) at the program's write_off_dpd and the recoveries after it.

- §8.11: DPD and write-offs are decided at the end of each business day, counting calendar
  days; after holidays the first business day may cross the threshold late, and the loan is
  written off that day.
- §8.6: at write-off, interest, penalty and compound interest accrued to the day are
  crystallised (rounded once, HALF_UP) and written off with the principal, per funder share
  (§3.6: the record carries the written-off principal and interest); nothing is receivable
  or accrues afterwards.
- §8.9: a written-off loan keeps the DPD (and class) it had on the write-off day, frozen.
- §8.8: an advance still held at write-off is refunded (a REFUND line).
- §7.10: a recovery after write-off is split per funder — by what each has written off and
  not yet recovered (§8.1's HALF_UP to the non-residual funder, the residual the rest) — and
  kept out of interest. Money beyond what is still written off is not owed: refunded, as an
  advance held at closing (§8.8). (Reached when a reversal's replay writes the loan off
  before payments that then count as recoveries.)
- §3.6 代偿: the claim is raised at the end of the business day the loan reaches the program's
  claim_trigger_dpd (§8.11); its amount is the bank's principal outstanding and its share of
  unpaid interest (scope principal + interest, penalty excluded; the §3.6 claim example).
  Penalty and compound interest are crystallised at the claim and at its payment (§8.6).
  When the guarantor pays it (a repayment with payer GUARANTOR, R13), the bank's share moves
  to the guarantor — principal, interest and the penalty outside the claim scope — and the
  guarantor takes the bank's place in every later split ("later recoveries on that share are
  routed to the guarantor"); the loan is CLAIMED, its DPD still counted (§8.9 freezes only a
  write-off's).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.oracle.model_state import ZERO, Pay, State, split

KEYS = ("PRINCIPAL", "INTEREST", "PENALTY")


class LossRules:
    def _write_off_if_due(self, st: State, day: date) -> None:
        s = self.s
        if (st.closed_on is not None or s.write_off_dpd is None or st.dpd < s.write_off_dpd
                or (self.business is not None and day not in self.business)):
            return
        self._crystallise(st)  # penalty and compound to the day
        self._crystallise_current(st, day)  # the running period's interest to the day
        for f, bal in st.shares.items():
            st.written_off[f] = {k: bal[k] for k in KEYS}
            for k in (*KEYS, "CMP"):
                bal[k] = ZERO
        st.closed_on, st.state = day, "WRITTEN_OFF"  # the DPD stays as aged today
        if st.suspense:
            st.refunded[day] = st.refunded.get(day, ZERO) + st.suspense
            st.suspense = ZERO

    def _recover(self, st: State, day: date, p: Pay) -> None:
        # by what each funder still has written off and not recovered (as a collection is
        # split by what each holds, §3.6 prepayment: "by current balances"), so that a full
        # recovery clears every funder's loss
        total = {f: sum(v.values(), ZERO) - sum((r.get(f, ZERO) for r in st.recovered.values()),
                                                ZERO)
                 for f, v in st.written_off.items()}
        whole = sum(total.values(), ZERO)
        take = min(p.amount, whole)
        if p.amount > take:  # beyond the debt written off: not owed, refunded (§8.8)
            st.refunded[day] = st.refunded.get(day, ZERO) + p.amount - take
        if not take:
            return
        weights = [(f, total[f] / whole) for f, _ in self.s.funders]
        day_rec = st.recovered.setdefault(day, {})
        for f, a in split(take, weights, self.s.residual).items():
            day_rec[f] = day_rec.get(f, ZERO) + a

    def written_off_total(self, st: State) -> Decimal:
        return sum((sum(v.values(), ZERO) for v in st.written_off.values()), ZERO)

    def recovered_total(self, st: State) -> Decimal:
        return sum((sum(v.values(), ZERO) for v in st.recovered.values()), ZERO)

    def _claim_if_due(self, st: State, day: date) -> None:
        s = self.s
        if (st.closed_on is not None or s.claim_dpd is None or st.claim_raised is not None
                or st.dpd < s.claim_dpd
                or (self.business is not None and day not in self.business)):
            return
        self._crystallise(st)
        st.claim_raised = day
        bank = st.shares["BANK"]
        st.claim_amount = bank["PRINCIPAL"] + bank["INTEREST"]

    def _claim_paid(self, st: State, day: date, p: Pay) -> None:
        self._crystallise(st)
        g = self.s.guarantor
        st.shares[g] = dict(st.shares["BANK"])
        st.shares["BANK"] = {k: ZERO for k in (*KEYS, "CMP")}
        self.alias["BANK"] = g
        st.claim_paid, st.state = day, "CLAIMED"
