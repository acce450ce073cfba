"""The oracle model's payment rules (a mixin of tests/oracle/model.LoanModel): a payment after
the instalments it finds due (§8.2), prepayment and payoff (§8.4), re-amortisation, closing and
the refund of an advance (§8.8, §8.9), aging, and the day's derived positions (§8.6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.oracle.model_state import ZERO, Inst, Pay, State, hu


class PaymentRules:
    def _apply(self, st: State, day: date, p: Pay):
        self._crystallise(st)
        cash = self._pay_due(st, day, p.amount, day)
        # a DAILY (随借随还) loan may be repaid any time: every payment pays interest to date
        if (p.kind == "SCHEDULED" and self.s.method != "DAILY") or cash <= 0:
            if cash > 0:
                st.suspense += cash
                st.overpaid[day] = st.overpaid.get(day, ZERO) + cash
            if p.kind == "PAYOFF":
                st.quarantined.append(p.txn)  # not enough to pay off: model says so
            return
        cur = self._current(st, day)
        if cur is None:  # nothing left to prepay against: advance
            st.suspense += cash
            st.overpaid[day] = st.overpaid.get(day, ZERO) + cash
            return
        # §8.4: interest accrued to date (crystallised), then principal
        self._crystallise_current(st, day)
        x = min(cur.unpaid_cryst, cash)
        cash -= x
        cur.unpaid_cryst -= x
        cur.i_paid += x
        self._book(st, day, "INTEREST", x)
        remaining = self.outstanding_principal(st)
        if p.kind == "PAYOFF" or cash >= remaining:
            pp = min(cash, remaining)
            cash -= pp
            self._prepay_principal(st, day, cur, pp, payoff=True)
            st.suspense += cash
            if cash:
                st.overpaid[day] = st.overpaid.get(day, ZERO) + cash
            if self.outstanding_principal(st) == 0 and all(
                    it.i_due == 0 and it.pen == 0 and it.comp == 0
                    for it in st.insts if it.billed):
                self._close(st, day)
            return
        self._prepay_principal(st, day, cur, cash, payoff=False)

    def _prepay_principal(self, st, day, cur: Inst, amount: Decimal, payoff: bool):
        cur.p_paid += amount  # the prepaid principal belongs to the current instalment
        self._book(st, day, "PRINCIPAL", amount)
        later = [it for it in st.insts if it.seq >= cur.seq]
        bal = sum((it.p_due for it in later), ZERO)
        if payoff or bal == 0:
            # nothing more accrues; the rest of the schedule is paid / cancelled
            cur.principal, cur.interest = cur.p_paid, cur.i_paid
            cur.accrue_base = ZERO
            cur.seg_cryst, cur.seg_amount = ZERO, None
            for it in later:
                if it is not cur:
                    it.principal, it.interest = it.p_paid, it.i_paid
            return
        if self.s.method == "DAILY":  # one running balance: nothing to re-amortise
            return
        # §8.4 re-amortise the remaining instalments on the new balance (term kept)
        n = len(later)
        dues = [it.due for it in later]
        starts = [it.start for it in later]
        prepaid_principal = cur.p_paid
        paid_interest = cur.cryst_total  # all of it paid: a prepayment pays interest first
        rows = self._rows(bal, n, starts, dues, cur.seq)
        new_cur = rows[0]
        days = (cur.due - cur.start).days
        base = new_cur.accrue_base
        if cur.seq == 1 and self.irregular and self.s.method != "INTEREST_FIRST":
            # §8.4 with §8.5: the rest of an irregular first period accrues the new balance
            # for its remaining actual days at the basis, unrounded (§8.6). (A regular period,
            # and every INTEREST_FIRST period, spreads its rounded interest instead: the
            # rounding point the engine takes there, a cent apart at most.)
            base = self._actual(bal, cur.start, cur.due)
        rest = base * (cur.due - day).days / days
        cur_int = paid_interest + hu(rest)
        cur.principal = prepaid_principal + new_cur.principal
        cur.interest = cur_int
        cur.accrue_from, cur.accrue_base = day, base
        cur.seg_cryst, cur.seg_amount = ZERO, None
        for old, new in zip(later[1:], rows[1:], strict=True):
            old.principal, old.interest = new.principal, new.interest
            old.accrue_base = new.accrue_base  # the re-amortised period accrues its new interest

    def _close_if_repaid(self, st: State, day: date):
        """Closed when nothing is owed: every instalment billed and paid (or the schedule
        paid off), no penalty; the loan is PAID_OFF that day (§8.9)."""
        if st.closed_on is None and all(it.billed for it in st.insts) and all(
                it.p_due == 0 and it.i_due == 0 and it.pen == 0 and it.comp == 0
                and hu(it.pen_acc / self.s.basis) == 0 and hu(it.comp_acc / self.s.basis) == 0
                for it in st.insts):
            self._close(st, day)

    def _close(self, st: State, day: date):
        st.closed_on, st.state, st.dpd = day, "PAID_OFF", 0
        if st.suspense:
            st.refunded[day] = st.refunded.get(day, ZERO) + st.suspense
            st.suspense = ZERO

    def _age(self, st: State, day: date):
        if st.closed_on is not None:
            return
        overdue = [it for it in st.insts if it.billed and it.due < day
                   and (it.p_due > 0 or it.i_due > 0)]
        if overdue:
            st.dpd = (day - overdue[0].due).days
            st.state = "OVERDUE"
        else:
            st.dpd, st.state = 0, "ACTIVE"
        if st.claim_paid is not None:
            st.state = "CLAIMED"  # the bank's share bought by the guarantor (§3.6)

    # --- derived positions (§8.6: the day's derived position, rounded once) --------------------
    def positions(self, st: State) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        out = {f: [v["PRINCIPAL"], v["INTEREST"], v["PENALTY"]] for f, v in st.shares.items()}
        if st.closed_on is not None:
            return {f: tuple(v) for f, v in out.items()}
        cur = self._current(st, st.day)
        if cur is not None:
            for f, a in self._split_interest(st, self._cur_interest_to_date(cur, st.day)).items():
                out[f][1] += a
        for acc in ("pen_acc", "comp_acc"):  # the loan's accrual, rounded once (§8.6)
            total = hu(sum((getattr(it, acc) for it in st.insts), ZERO) / self.s.basis)
            for f, a in self._split(total).items():
                out[f][2] += a
        return {f: tuple(v) for f, v in out.items()}
