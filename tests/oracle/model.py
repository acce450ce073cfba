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
- paid off: DPD 0 and class normal (§8.9);
- an irregular first period accrues its actual days at the basis, its instalment the regular
  annuity plus the difference (§8.5);
- interest under PER_FUNDER_RATE split by each funder's balance × own rate, under
  BANK_FIXED_YIELD pro rata with the bank's excess over its yield a fee (§3.5, R11, §8.7);
- write-off, recoveries and claims: model_loss.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.oracle.model_loss import LossRules
from tests.oracle.model_pay import PaymentRules
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


class LoanModel(PaymentRules, LossRules):
    def __init__(self, spec: LoanSpec, business: frozenset[date] | None = None):
        self.s = spec
        # the bank's business days (§8.11: write-offs are decided at their ends); None: every day
        self.business = business
        self.i = spec.rate / 12
        self.funded = split(spec.principal, [(f, r) for f, r in spec.funders], spec.residual)
        self.weights = [(f, self.funded[f] / spec.principal) for f, _ in spec.funders]
        # after a claim is paid the guarantor holds the bank's share (§3.6, R13) and takes its
        # place in every split: BANK → the guarantor (reset at each replay)
        self.alias: dict[str, str] = {}

    def _fs(self) -> list[tuple[str, Decimal]]:
        return [(self.alias.get(f, f), w) for f, w in self.weights]

    # --- schedule (§3.2, R8) -----------------------------------------------------------------
    def schedule(self) -> list[Inst]:
        s = self.s
        if s.method == "DAILY":
            # 随借随还 (§3.3): no instalments; the principal falls due at the program's longest
            # term, interest runs day by day on the outstanding principal (§3.3 worked example)
            due = add_months(s.disbursed, s.daily_term_months, s.disbursed.day)
            return [Inst(1, s.disbursed, due, s.principal, ZERO)]
        first = s.first_due or add_months(s.disbursed, 1, s.disbursed.day)
        # the later due dates keep the first due date's day of the month (FILE_FORMATS: the
        # default first due date is the same day next month)
        dues = [add_months(first, k, first.day) for k in range(s.term)]
        starts = [s.disbursed] + dues[:-1]
        return self._rows(s.principal, s.term, starts, dues, 1)

    @property
    def irregular(self) -> bool:
        """§8.5: a first period that is not one month (first_due_on not the anniversary)."""
        s = self.s
        return (s.method != "DAILY" and s.first_due is not None
                and s.first_due != add_months(s.disbursed, 1, s.disbursed.day))

    def _actual(self, bal: Decimal, start: date, due: date) -> Decimal:
        """Interest for the actual days at the day-count basis (unrounded)."""
        return bal * self.s.rate * (due - start).days / self.s.basis

    def _rows(self, bal, n, starts, dues, seq0, annuity_amt=None):
        rows, i = [], self.i
        a = annuity_amt if annuity_amt is not None else annuity(bal, i, n)
        per = hu(bal / n)  # §3.2 等额本金: the same principal each period, the last absorbs
        for k in range(n):
            if self.s.method == "INTEREST_FIRST":
                # not in §8.5 (EI/EP only): actual days at the basis, §3.2 "先息后本 actual/360"
                exact = bal * self.s.rate * (dues[k] - starts[k]).days / self.s.basis
            elif seq0 + k == 1 and self.irregular:
                # §8.5: an irregular first period accrues its actual days at the basis
                exact = self._actual(bal, starts[k], dues[k])
            else:
                exact = bal * i  # §8.5: a full monthly period accrues annual ÷ 12
            interest = hu(exact)
            if k == n - 1:
                principal = bal
            elif self.s.method == "EQUAL_INSTALLMENT":
                # §8.5: the level instalment stays the regular annuity; an irregular first
                # instalment is it plus (actual-day − regular month's interest), so its
                # principal is the regular one's
                principal = a - hu(bal * i)
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
        return split(amount, self._fs(), self.s.residual)

    def _split_interest(self, st: State, amount: Decimal) -> dict[str, Decimal]:
        """Interest between funders (§3.5, R11): pro rata (§8.1) under PRO_RATA and
        BANK_FIXED_YIELD (whose bank share is gross, its excess over the yield a separate
        fee); under PER_FUNDER_RATE by each funder's own balance × its own rate."""
        if self.s.interest_rule != "PER_FUNDER_RATE":
            return self._split(amount)
        rates = dict(self.s.rates)
        own = {f: st.shares[f]["PRINCIPAL"] * rates[f] for f, _ in self.s.funders}  # (no claim)
        total = sum(own.values(), ZERO)
        if total <= 0:
            return self._split(amount)
        return split(amount, [(f, own[f] / total) for f, _ in self.s.funders], self.s.residual)

    def _accrue(self, st: State, day: date, amount: Decimal, it: Inst, frm: date, to: date):
        """Crystallise `amount` of borrower interest of period `it` accrued frm..to into the
        shares; under BANK_FIXED_YIELD the bank's gross share above its yield for those days
        is the platform's service fee (§3.5 b), the yield computed on the borrower interest's
        basis (§8.7): ÷ 12 spread evenly over a full monthly EI/EP period, else actual days."""
        for f, a in self._split_interest(st, amount).items():
            st.shares[f]["INTEREST"] += a
        if self.s.interest_rule != "BANK_FIXED_YIELD" or not amount or to <= frm:
            return
        # the bank's part of the balance the period's interest runs on (§8.7 "the same basis"):
        # its principal less its part of earlier instalments' principal billed and not paid
        billed_unpaid = sum((x.p_due for x in st.insts if x.billed and x.seq < it.seq), ZERO)
        bank = st.shares["BANK"]["PRINCIPAL"] - (
            self._split(billed_unpaid)["BANK"] if billed_unpaid > 0 else ZERO)
        regular = self.s.method in ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL") and not (
            it.seq == 1 and self.irregular)
        if regular:
            entitled = hu(bank * self.s.bank_yield / 12 * (to - frm).days / (it.due - it.start).days)
        else:
            entitled = hu(bank * self.s.bank_yield * (to - frm).days / self.s.basis)
        fee = self._split(amount)["BANK"] - entitled
        if fee > 0:
            st.fees[day] = st.fees.get(day, ZERO) + fee

    def _crystallise(self, st: State):
        """Penalty and compound interest accrued since the last crystallisation, rounded once
        for the loan (§8.6: the worked 5.92 is the loan's penalty, rounded once) and split
        once; each instalment keeps its part for the waterfall (§8.2), the last one the
        rounding."""
        for acc, comp in (("pen_acc", "pen"), ("comp_acc", "comp")):
            parts = [it for it in st.insts if getattr(it, acc)]
            r = hu(sum((getattr(it, acc) for it in parts), ZERO) / self.s.basis)
            if r:
                for f, a in self._split(r).items():
                    st.shares[f]["PENALTY"] += a  # penalty and compound together …
                    if comp == "comp":
                        st.shares[f]["CMP"] += a  # … and what of it is compound
                rest = r
                for it in parts[:-1]:
                    x = hu(getattr(it, acc) / self.s.basis)
                    setattr(it, comp, getattr(it, comp) + x)
                    rest -= x
                setattr(parts[-1], comp, getattr(parts[-1], comp) + rest)
            for it in parts:
                setattr(it, acc, ZERO)

    def _split_by_balance(self, st: State, key: str, amount: Decimal) -> dict[str, Decimal]:
        """A collection is split by what each funder still holds of that component (the
        engine's documented rule, so a full repayment clears every share): HALF_UP to each
        non-residual funder, no more than it holds, the residual funder the rest."""
        # PENALTY holds penalty and compound together; CMP the compound part (§3.4 splits
        # them as two components)
        bal = {f: (st.shares[f]["PENALTY"] - st.shares[f]["CMP"] if key == "PENALTY" else
                   st.shares[f]["CMP"] if key == "COMPOUND" else st.shares[f][key])
               for f, _ in self._fs()}
        total = sum(bal.values(), ZERO)
        if total <= 0 or any(v < 0 for v in bal.values()):
            return self._split(amount)
        if amount == total:
            return dict(bal)
        out, rest = {}, amount
        for f, _ in self._fs():
            if f != self.s.residual:
                out[f] = min(hu(amount * bal[f] / total), bal[f])
                rest -= out[f]
        out[self.s.residual] = rest
        return out

    def _book(self, st: State, day: date, comp: str, amount: Decimal, sign=1):
        if not amount:
            return
        key = {"PRINCIPAL": "PRINCIPAL", "INTEREST": "INTEREST"}.get(comp, "PENALTY")
        parts = (self._split_by_balance(st, comp if comp == "COMPOUND" else key, amount)
                 if sign > 0 else self._split(amount))
        coll = (st.applied if st.from_advance else st.collected).setdefault(day, {})
        for f, a in parts.items():
            st.shares[f][key] -= a * sign
            if comp == "COMPOUND":
                st.shares[f]["CMP"] -= a * sign
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
        total = hu(sum((it.pen_acc for it in st.insts), ZERO) / self.s.basis) + hu(
            sum((it.comp_acc for it in st.insts), ZERO) / self.s.basis)  # rounded once (§8.6)
        for it in st.insts:
            if it.billed:
                total += it.pen + it.comp + it.i_due + it.p_due
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
                self._accrue(st, day, x, cur, getattr(cur, "accrue_from", cur.start), day)
                cur.cryst_total += x
                cur.unpaid_cryst += x
            cur.accrue_from = day
            return cur
        if restore and not cur.p_paid and not cur.i_paid and cur.unpaid_cryst:
            for f, a in self._split_interest(st, cur.unpaid_cryst).items():
                st.shares[f]["INTEREST"] -= a
            st.fee_untracked = True  # the fee of the restored period: not modelled
            cur.cryst_total -= cur.unpaid_cryst
            cur.unpaid_cryst = cur.seg_cryst = ZERO
            cur.seg_amount = None
            if hasattr(cur, "accrue_from"):
                del cur.accrue_from
        x = self._cur_interest_to_date(cur, day)
        if x:
            self._accrue(st, day, x, cur, getattr(cur, "accrue_from", cur.start), day)
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
                   shares={f: {"PRINCIPAL": self.funded[f], "INTEREST": ZERO, "PENALTY": ZERO,
                               "CMP": ZERO}
                           for f, _ in s.funders})
        self.alias = {}
        # the day's penalty × basis: exact decimals, divided by the basis only when rounded
        # (a repeating 0.12 × 1.3 / 360 summed day by day misses an exact half cent)
        pen_rate = s.rate * s.penalty_multiplier
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
                        self._accrue(st, day, it.interest - it.cryst_total, it,
                                     getattr(it, "accrue_from", it.start), it.due)
                if billed_today:
                    self._crystallise(st)
                    if st.suspense:
                        st.from_advance = True
                        st.suspense = self._pay_due(st, day, st.suspense, day)
                        st.from_advance = False
                        self._close_if_repaid(st, day)
            if st.state == "WRITTEN_OFF":
                for p in by_day.get(day, []):
                    self._recover(st, day, p)  # §3.6, §7.10: a recovery after write-off
            if st.closed_on is None:
                for p in by_day.get(day, []):
                    if st.closed_on is None and p.payer == "GUARANTOR":
                        self._claim_paid(st, day, p)
                    elif st.closed_on is None:
                        self._apply(st, day, p)
                        self._close_if_repaid(st, day)
                if day in crystal_days and st.closed_on is None:
                    # a reversal day crystallises what accrued in between (§8.3)
                    self._crystallise(st)
                    if day in interest_days:
                        self._crystallise_current(st, day, restore=True)
            self._age(st, day)
            self._claim_if_due(st, day)
            self._write_off_if_due(st, day)
            day += timedelta(days=1)
        return st
