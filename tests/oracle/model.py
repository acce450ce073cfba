"""A deliberately simple, slow, per-loan model of a joint loan and its funder shares.

Written from ../shared/DOMAIN.md (§3, §5, §6 and the binding §8) only, not from the engine.
It is event-sourced: the state on a day is recomputed from the disbursement by replaying every
calendar day and every payment that has not been reversed (§8.3: a reversal restores the loan
as if the payment had never been made; the reversal day is a crystallisation point).

Conventions taken from the brief (cited where used):
- interest runs from the day after disbursement (§3.3, the program's count_first_day=False);
- a full monthly period of EQUAL_INSTALLMENT / EQUAL_PRINCIPAL / INTEREST_FIRST accrues
  annual ÷ 12 (§8.5), spread evenly over the days of the period for the accrual (§8.6);
- accruals are unrounded, rounded HALF_UP at billing / payment / reversal (§8.6);
- penalty = overdue principal × rate × multiplier ÷ basis per day from the day after due +
  grace, compound = overdue interest × the same rate (R9, §3.4); the day's accrual is on the
  balance before that day's payments (§3.4 worked example: 10 days 04-16..04-25 = 5.92);
- waterfall instalment-major, oldest first, penalty → compound → interest → principal (§8.2);
- every component split by funded principal weights, HALF_UP for non-residual funders, the
  residual funder the rest (§8.1, §3.1);
- money beyond what is due is an advance applied at the next due date, REFUND at closing (§8.8);
- prepayment pays interest to date, the rest of the period accrues on the new balance (§8.4);
- paid off: DPD 0 and class normal (§8.9).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.oracle.model_state import (  # noqa: F401  (re-exported for the test)
    CENT,
    ORDER,
    ZERO,
    Inst,
    LoanSpec,
    Pay,
    State,
    add_months,
    annuity,
    hu,
    split,
)


class LoanModel:
    def __init__(self, spec: LoanSpec):
        self.s = spec
        self.i = spec.rate / 12
        self.funded = split(spec.principal, [(f, r) for f, r in spec.funders], spec.residual)
        self.weights = [(f, self.funded[f] / spec.principal) for f, _ in spec.funders]

    # --- schedule (§3.2, R8) -----------------------------------------------------------------
    def schedule(self) -> list[Inst]:
        s = self.s
        if s.method == "DAILY":
            # 随借随还 (§3.3): no instalments; the principal falls due at the program's longest
            # term, interest runs day by day on the outstanding principal (§3.3 worked example)
            due = add_months(s.disbursed, s.daily_term_months, s.disbursed.day)
            return [Inst(1, s.disbursed, due, s.principal, ZERO)]
        dues = [add_months(s.disbursed, k, s.disbursed.day) for k in range(1, s.term + 1)]
        starts = [s.disbursed] + dues[:-1]
        return self._rows(s.principal, s.term, starts, dues, 1)

    def _rows(self, bal, n, starts, dues, seq0, annuity_amt=None):
        rows, i = [], self.i
        a = annuity_amt if annuity_amt is not None else annuity(bal, i, n)
        per = hu(bal / n)  # §3.2 等额本金: the same principal each period, the last absorbs
        for k in range(n):
            if self.s.method == "INTEREST_FIRST":
                # not in §8.5 (EI/EP only): actual days at the basis, §3.2 "先息后本 actual/360"
                exact = bal * self.s.rate * (dues[k] - starts[k]).days / self.s.basis
            else:
                exact = bal * i  # §8.5: a full monthly period accrues annual ÷ 12
            interest = hu(exact)
            if k == n - 1:
                principal = bal
            elif self.s.method == "EQUAL_INSTALLMENT":
                principal = a - interest
            elif self.s.method == "EQUAL_PRINCIPAL":
                principal = per
            else:  # INTEREST_FIRST
                principal = ZERO
            row = Inst(seq0 + k, starts[k], dues[k], principal, interest)
            # the accrual spreads the period's interest evenly over its days (§8.6; for
            # INTEREST_FIRST too: the rounded period interest, so accrued = billed at the due
            # date — the oracle first used the unrounded day-count amount, a cent off)
            row.accrue_base = interest
            rows.append(row)
            bal -= principal
        return rows

    # --- helpers -----------------------------------------------------------------------------
    def _split(self, amount):
        return split(amount, self.weights, self.s.residual)

    def _crystallise(self, st: State):
        for it in st.insts:
            for acc, comp in (("pen_acc", "pen"), ("comp_acc", "comp")):
                r = hu(getattr(it, acc))
                if r:
                    setattr(it, comp, getattr(it, comp) + r)
                    for f, a in self._split(r).items():
                        st.shares[f]["PENALTY"] += a
                setattr(it, acc, ZERO)

    def _split_by_balance(self, st: State, key: str, amount: Decimal) -> dict[str, Decimal]:
        """A collection is split by what each funder still holds of that component (the
        engine's documented rule, so a full repayment clears every share): HALF_UP to each
        non-residual funder, no more than it holds, the residual funder the rest."""
        bal = {f: st.shares[f][key] for f, _ in self.s.funders}
        total = sum(bal.values(), ZERO)
        if total <= 0 or any(v < 0 for v in bal.values()):
            return self._split(amount)
        if amount == total:
            return dict(bal)
        out, rest = {}, amount
        for f, _ in self.s.funders:
            if f != self.s.residual:
                out[f] = min(hu(amount * bal[f] / total), bal[f])
                rest -= out[f]
        out[self.s.residual] = rest
        return out

    def _book(self, st: State, day: date, comp: str, amount: Decimal, sign=1):
        if not amount:
            return
        key = {"PRINCIPAL": "PRINCIPAL", "INTEREST": "INTEREST"}.get(comp, "PENALTY")
        parts = self._split_by_balance(st, key, amount) if sign > 0 else self._split(amount)
        coll = (st.applied if st.from_advance else st.collected).setdefault(day, {})
        for f, a in parts.items():
            st.shares[f][key] -= a * sign
            coll[(f, comp)] = coll.get((f, comp), ZERO) + a * sign

    def _pay_due(self, st: State, day: date, cash: Decimal, upto: date) -> Decimal:
        """Waterfall over billed instalments due on or before `upto`, oldest first (§8.2)."""
        for it in st.insts:
            if not it.billed or it.due > upto:
                continue
            for comp in ORDER:
                if cash <= 0:
                    return cash
                owed = {"PENALTY": it.pen, "COMPOUND": it.comp, "INTEREST": it.i_due,
                        "PRINCIPAL": it.p_due}[comp]
                x = min(owed, cash)
                if x <= 0:
                    continue
                cash -= x
                if comp == "PENALTY":
                    it.pen -= x
                elif comp == "COMPOUND":
                    it.comp -= x
                elif comp == "INTEREST":
                    it.i_paid += x
                else:
                    it.p_paid += x
                self._book(st, day, comp, x)
        return cash

    def _current(self, st: State, day: date) -> Inst | None:
        for it in st.insts:
            if not it.billed and it.start <= day < it.due:
                return it
        return None

    def outstanding_principal(self, st: State) -> Decimal:
        return sum((it.p_due for it in st.insts), ZERO)

    def payoff_amount(self, st: State) -> Decimal:
        """What PAYOFF on st.day must bring (after the day's accrual): everything billed,
        the interest accrued to date (HALF_UP), all principal."""
        total = ZERO
        for it in st.insts:
            if it.billed:
                total += it.pen + hu(it.pen_acc) + it.comp + hu(it.comp_acc) + it.i_due + it.p_due
            else:
                total += it.p_due
        cur = self._current(st, st.day)
        if cur is not None:
            total += self._cur_interest_to_date(cur, st.day) + cur.unpaid_cryst
        return total  # the advance is not netted: it is refunded at closing (§8.8)

    def _cur_interest_to_date(self, it: Inst, day: date) -> Decimal:
        """The running period's interest accrued to `day` and not yet crystallised."""
        if self.s.method == "DAILY":  # outstanding × rate × days since the last payment ÷ basis
            start = getattr(it, "accrue_from", it.start)
            days = max((min(day, it.due) - start).days, 0)
            return hu(it.p_due * self.s.rate * days / self.s.basis)
        return hu(self._period_accrual(it, day)) - it.seg_cryst

    def _crystallise_current(self, st: State, day: date, restore: bool = False
                             ) -> Inst | None:
        """Move the running period's interest accrued to `day` into the shares (§8.6).

        `restore`: the reversal of a PREPAYMENT or PAYOFF (§8.3). A period in which no
        prepayment stands is then as if never touched: it accrues from its start again, and
        what earlier reversal days crystallised of it is taken back and crystallised anew,
        from the period's start to `day`, in one piece."""
        cur = self._current(st, day)
        if cur is None:
            return None
        if self.s.method == "DAILY":
            # interest to date rounded once (§8.6), and the next segment starts here: the
            # payment changes the balance it runs on (what rounded away is not carried)
            x = self._cur_interest_to_date(cur, day)
            if x:
                for f, a in self._split(x).items():
                    st.shares[f]["INTEREST"] += a
                cur.cryst_total += x
                cur.unpaid_cryst += x
            cur.accrue_from = day
            return cur
        if restore and not cur.p_paid and not cur.i_paid and cur.unpaid_cryst:
            for f, a in self._split(cur.unpaid_cryst).items():
                st.shares[f]["INTEREST"] -= a
            cur.cryst_total -= cur.unpaid_cryst
            cur.unpaid_cryst = cur.seg_cryst = ZERO
            cur.seg_amount = None
            if hasattr(cur, "accrue_from"):
                del cur.accrue_from
        x = self._cur_interest_to_date(cur, day)
        if x:
            for f, a in self._split(x).items():
                st.shares[f]["INTEREST"] += a
            cur.cryst_total += x
            cur.unpaid_cryst += x
            if day < cur.due:
                # what the period still accrues, unrounded, spreads over its remaining days
                # (rounded only when crystallised, §8.6)
                rest = self._period_accrual(cur, cur.due) - cur.seg_cryst - x
                cur.seg_amount, cur.accrue_from, cur.seg_cryst = rest, day, ZERO
            else:
                cur.seg_cryst += x
        return cur

    def _period_accrual(self, it: Inst, day: date) -> Decimal:
        """Unrounded accrual of the period's (remaining) interest up to `day`."""
        start = getattr(it, "accrue_from", it.start)
        if it.seg_amount is not None:
            return it.seg_amount * max((min(day, it.due) - start).days, 0) / (it.due - start).days
        days = (it.due - it.start).days
        base = getattr(it, "accrue_base", it.interest)
        return base * max((min(day, it.due) - start).days, 0) / days

    # --- the replay ----------------------------------------------------------------------------
    def run(self, through: date, pays: list[Pay], crystal_days: set[date] = frozenset(),
            interest_days: set[date] = frozenset()) -> State:
        """The loan replayed to `through` with `pays` (reversed ones left out). On
        `crystal_days` (a reversal) penalty is crystallised; on `interest_days` (the reversal
        of a PREPAYMENT or PAYOFF, which restores the schedule, §8.3) the period's interest
        accrued to date too."""
        s = self.s
        st = State(day=s.disbursed, insts=self.schedule(),
                   shares={f: {"PRINCIPAL": self.funded[f], "INTEREST": ZERO, "PENALTY": ZERO}
                           for f, _ in s.funders})
        pen_rate = s.rate * s.penalty_multiplier / s.basis
        by_day: dict[date, list[Pay]] = {}
        for p in pays:
            by_day.setdefault(p.paid_on, []).append(p)
        day = s.disbursed
        while day <= through:
            st.day = day
            if st.closed_on is None and day > s.disbursed:
                # 1. the day's penalty / compound on what is overdue at the start of the day
                for it in st.insts:
                    if it.billed and day > it.due + timedelta(days=s.grace_days):
                        it.pen_acc += it.p_due * pen_rate
                        it.comp_acc += it.i_due * pen_rate
                # 2. billing of instalments due today (§8.6 crystallise), advance applied (§8.8)
                billed_today = False
                for it in st.insts:
                    if it.due == day and not it.billed:
                        it.billed = True
                        billed_today = True
                        # what of the period's interest is not crystallised yet
                        for f, a in self._split(it.interest - it.cryst_total).items():
                            st.shares[f]["INTEREST"] += a
                if billed_today:
                    self._crystallise(st)
                    if st.suspense:
                        st.from_advance = True
                        st.suspense = self._pay_due(st, day, st.suspense, day)
                        st.from_advance = False
                        self._close_if_repaid(st, day)
            if st.closed_on is None:
                for p in by_day.get(day, []):
                    if st.closed_on is None:
                        self._apply(st, day, p)
                        self._close_if_repaid(st, day)
                if day in crystal_days and st.closed_on is None:
                    # a reversal day crystallises what accrued in between (§8.3)
                    self._crystallise(st)
                    if day in interest_days:
                        self._crystallise_current(st, day, restore=True)
            self._age(st, day)
            day += timedelta(days=1)
        return st

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
        rest = new_cur.accrue_base * (cur.due - day).days / days
        cur_int = paid_interest + hu(rest)
        cur.principal = prepaid_principal + new_cur.principal
        cur.interest = cur_int
        cur.accrue_from, cur.accrue_base = day, new_cur.accrue_base
        cur.seg_cryst, cur.seg_amount = ZERO, None
        for old, new in zip(later[1:], rows[1:], strict=True):
            old.principal, old.interest = new.principal, new.interest
            old.accrue_base = new.accrue_base  # the re-amortised period accrues its new interest

    def _close_if_repaid(self, st: State, day: date):
        """Closed when nothing is owed: every instalment billed and paid (or the schedule
        paid off), no penalty; the loan is PAID_OFF that day (§8.9)."""
        if st.closed_on is None and all(it.billed for it in st.insts) and all(
                it.p_due == 0 and it.i_due == 0 and it.pen == 0 and it.comp == 0
                and hu(it.pen_acc) == 0 and hu(it.comp_acc) == 0 for it in st.insts):
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

    # --- derived positions (§8.6: the day's derived position, rounded once) --------------------
    def positions(self, st: State) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        out = {f: [v["PRINCIPAL"], v["INTEREST"], v["PENALTY"]] for f, v in st.shares.items()}
        if st.closed_on is not None:
            return {f: tuple(v) for f, v in out.items()}
        cur = self._current(st, st.day)
        if cur is not None:
            for f, a in self._split(self._cur_interest_to_date(cur, st.day)).items():
                out[f][1] += a
        for it in st.insts:
            for acc in (it.pen_acc, it.comp_acc):
                for f, a in self._split(hu(acc)).items():
                    out[f][2] += a
        return {f: tuple(v) for f, v in out.items()}
