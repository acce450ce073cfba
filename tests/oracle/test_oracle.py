"""The model-based oracle (issue 20): random worlds of business days and partner files driven
through the real intake and settlement on PostgreSQL, every loan share compared with the
independent model in tests/oracle/model.py after every settled day.

`make test` runs two fixed (derandomized) worlds of 60 calendar days, about 25 s;
`make oracle ORACLE_EXAMPLES=N` searches N random worlds, ORACLE_DAYS the number of calendar
days of each world (60), ORACLE_SHRINK=1 lets Hypothesis shrink a failure.

What a random search still finds is listed in issue 20's note: the classes below that the
generator leaves out (KNOWN_DEFECTS), the split of a reversal that `split_tolerant`
tolerates to a cent per funder, and the rounding points of §8.6 (the engine crystallises
interest and penalty at more points than the brief names, a cent apart).

Not generated yet: fixed-yield and per-funder-rate agreements, claims, recoveries, write-offs
and irregular first periods (golden tests cover those; see issue 20's note)."""

from __future__ import annotations

import itertools
import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, reproduce_failure, settings
from hypothesis import strategies as st

from ledger.domain import chart
from ledger.selectors import UnknownLedgerObject, account_balance_get
from ledger.services import chart_of_accounts_load
from lending import services
from lending.intake.writer import partner_files_import
from lending.models import Agreement, Loan, Statement
from lending.settlement import runner
from partners.calendar import business_days
from partners.models import CalendarDay, CalendarDayKind, Partner
from tests.factories import lending as f
from tests.oracle.model import ORDER, LoanModel, LoanSpec, Pay, hu
from tests.support.ledger import ledger_purge

# Committed days, as in production (one transaction per world held every intake and chunk temp
# table's lock to its end: ~8,000 locks for a 60-day world, past max_locks_per_transaction ×
# connections on a busy server). Each world has partners of its own (W1, W2, …), so worlds
# never meet; the ledger is purged after the test (the flush's TRUNCATE needs it empty).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WORLDS = itertools.count(1)


@pytest.fixture(autouse=True)
def _purge_ledger(transactional_db):
    yield
    ledger_purge()

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "2"))
# Features the generator can leave out (ORACLE_KNOWN_DEFECTS=A,B,REFUND,VALUE_DATE), kept to
# narrow a search: "A" a PREPAYMENT inside the first period, "B" the reversal of a PAYOFF,
# "REFUND" closing a loan that holds an advance (§8.8), "VALUE_DATE" a PREPAYMENT / PAYOFF whose
# paid_on is before the business date (§8.11). All four are fixed. Left out by default:
# "REPLAY" — reversing a payment that a later payment of the loan followed, or after a due
# date at which an advance was applied: the model replays what followed as if the reversed
# one had never been made (§8.3), the engine keeps its allocation (a later prepayment's smaller interest stays paid as principal; a later
# payment's penalty on what the reversal made overdue is not re-allocated), which differs
# by what the reversed payment had paid. "SHORT_PREPAY" — a PREPAYMENT smaller than the
# interest accrued to its date (it prepays no principal): the engine keeps the period's
# remaining interest as it was, the model re-bases the rest of the period, a cent apart.
# "PIECEWISE" — reversing a PREPAYMENT / PAYOFF while
# another one of the loan stands, or any payment of a DAILY loan (each payment crystallises its
# interest to date): the engine continues the period's interest from the last
# crystallisation (the reversed payment's date), the model from the standing one's, a cent
# apart (§8.6 rounds once). Both are in issue 20's note; ORACLE_KNOWN_DEFECTS= (empty)
# generates them too.
KNOWN_DEFECTS = set(os.environ.get("ORACLE_KNOWN_DEFECTS",
                                   "REPLAY,PIECEWISE,SHORT_PREPAY").split(",")) - {""}
START = date(2026, 3, 2)  # a Monday; the bank's 2026 calendar (a migration) applies
ALL_METHODS = ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "DAILY"]
# ORACLE_METHODS=DAILY,... narrows a search to some repayment methods
METHODS = os.environ.get("ORACLE_METHODS", ",".join(ALL_METHODS)).split(",")


def world_setup(code: str, bank_ratio: Decimal, grace: int, mult: Decimal):
    chart_of_accounts_load()
    platform = f.partner(code)
    guarantor = f.partner(f"{code}G", kind="GUARANTOR")
    agreement = services.agreement_create(code=f"AG-{code}", name="oracle", platform=platform,
                                          guarantor=guarantor)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=date(2020, 1, 1),
        funders=[services.FunderTerms(f.bank(), bank_ratio),
                 services.FunderTerms(platform, Decimal("1") - bank_ratio)],
        created_by=f.user("maker"))
    services.agreement_version_approve(version=version, approved_by=f.user("checker"))
    services.program_create(
        partner=platform, agreement=Agreement.objects.get(code=f"AG-{code}"), code="CASH",
        name="cash", repayment_methods=ALL_METHODS, max_annual_rate=Decimal("0.24"),
        claim_trigger_dpd=None, write_off_dpd=None, grace_days=grace, penalty_multiplier=mult)


class World:
    def __init__(self, code, data, bank_ratio, grace, mult):
        self.code = code  # the platform's partner code, a prefix of its loan numbers
        self.data = data
        self.ratio = bank_ratio
        self.grace, self.mult = grace, mult
        self.models: dict[str, LoanModel] = {}
        self.pays: dict[str, list[Pay]] = {}
        self.crystal: dict[str, set[date]] = {}
        self.icrystal: dict[str, set[date]] = {}  # reversals of a PREPAYMENT / PAYOFF
        # loans where a payment was reversed while others stood: a reversal negates the
        # original movements exactly, funder by funder (the partner matches the REVERSAL lines
        # to the original ones), while the model replays the others, each split by the
        # balances as they would have been; the funders' split may then differ by a cent, the
        # totals may not (issue 20's note: the split of a reversal)
        self.split_tolerant: set[str] = set()
        self.txn_loan: dict[str, str] = {}
        self.reversed: set[str] = set()
        self.seq = 0
        self.last = None
        self.log: list[str] = []

    def new_id(self, p):
        self.seq += 1
        return f"{self.code}{p}{self.seq}"

    def model_state(self, loan_no, day):
        return self.models[loan_no].run(day, self.pays[loan_no], self.crystal[loan_no],
                                        self.icrystal[loan_no])

    def plan_day(self, day: date) -> dict:
        d = self.data
        self.before = {no: list(p) for no, p in self.pays.items()}
        files = {"loans": [], "repayments": [], "reversals": []}
        # value dates: any calendar day after the last settled day up to today (v1.1)
        lo = (self.last + timedelta(days=1)) if self.last else day
        vdays = [lo + timedelta(days=k) for k in range((day - lo).days + 1)]
        if d.draw(st.integers(0, 3), label=f"new loans {day}") and day < START + timedelta(20):
            for _ in range(d.draw(st.integers(1, 2))):
                no = self.new_id("L")
                method = d.draw(st.sampled_from(METHODS), label="method")
                principal = Decimal(d.draw(st.integers(1000, 20000))) + \
                    Decimal(d.draw(st.integers(0, 99))) / 100
                rate = d.draw(st.sampled_from(["0.12", "0.15", "0.18", "0.2388"]))
                term = 0 if method == "DAILY" else d.draw(st.integers(2, 12))
                files["loans"].append((no, "CASH", f"b-{no}", str(principal), rate, term,
                                       method, day, "", f"BA-{no}"))
                spec = LoanSpec(no, principal, Decimal(rate), term, method, day,
                                (("BANK", self.ratio), (self.code, 1 - self.ratio)), self.code,
                                self.mult, self.grace)
                self.models[no], self.pays[no] = LoanModel(spec), []
                self.crystal[no], self.icrystal[no] = set(), set()
                self.log.append(f"{day} loan {spec}")
        for no, m in self.models.items():
            if m.s.disbursed >= day:
                continue
            stt = self.model_state(no, day)
            if stt.closed_on is not None:
                continue
            what = d.draw(st.sampled_from(["none", "none", "none", "due", "partial", "over",
                                           "prepay", "payoff", "reverse"]), label=f"{no} {day}")
            if what == "none":
                continue
            if what == "reverse":
                live = [p for p in self.pays[no] if p.txn not in self.reversed
                        and p.paid_on > m.s.disbursed
                        and not ("B" in KNOWN_DEFECTS and p.kind == "PAYOFF")
                        and not ("REPLAY" in KNOWN_DEFECTS
                                 and (any(q is not p and (q.paid_on, q.txn) > (p.paid_on, p.txn)
                                          for q in self.pays[no])
                                      # the advance applied at a due date in between
                                      or any(p.paid_on < it.due <= day
                                             for it in m.schedule())))
                        and not ("PIECEWISE" in KNOWN_DEFECTS
                                 and (m.s.method == "DAILY"
                                      or (p.kind in ("PREPAYMENT", "PAYOFF")
                                          and any(q is not p
                                                  and q.kind in ("PREPAYMENT", "PAYOFF")
                                                  for q in self.pays[no]))))]
                if not live:
                    continue
                p = d.draw(st.sampled_from(live))
                self.reversed.add(p.txn)
                files["reversals"].append((self.new_id("R"), p.txn, day, str(p.amount), "oracle"))
                self.pays[no] = [q for q in self.pays[no] if q.txn != p.txn]
                self.crystal[no].add(day)
                if p.kind in ("PREPAYMENT", "PAYOFF"):
                    self.icrystal[no].add(day)
                if self.pays[no]:
                    self.split_tolerant.add(no)
                self.log.append(f"{day} reverse {no} {p}")
                continue
            paid_on = d.draw(st.sampled_from([v for v in vdays if v > m.s.disbursed]))
            if any(p.paid_on > paid_on for p in self.pays[no]):
                paid_on = day
            at = self.model_state(no, paid_on)
            if stt.closed_on is not None or at.closed_on is not None:
                continue
            first_period = paid_on < m.schedule()[0].due
            if what in ("prepay", "payoff") and paid_on != day and "VALUE_DATE" in KNOWN_DEFECTS:
                paid_on = day
                at = self.model_state(no, paid_on)
                first_period = paid_on < m.schedule()[0].due
            if what in ("prepay", "payoff") and first_period and "A" in KNOWN_DEFECTS:
                what = "due"
            due_now = sum((it.pen + it.comp + it.i_due + it.p_due + hu(it.pen_acc)
                           + hu(it.comp_acc) for it in at.insts if it.billed), Decimal(0))
            nxt = next((it for it in at.insts if not it.billed), None)
            if what == "due":
                amt = due_now or (nxt.principal + nxt.interest if nxt else Decimal("0"))
                kind = "SCHEDULED"
            elif what == "partial":
                amt = hu((due_now or Decimal("100")) * Decimal(d.draw(st.integers(1, 99))) / 100)
                kind = "SCHEDULED"
            elif what == "over":
                amt = due_now + Decimal(d.draw(st.integers(1, 50000))) / 100
                kind = "SCHEDULED"
            elif what == "prepay":
                amt = due_now + Decimal(d.draw(st.integers(10000, 300000))) / 100
                cur = m._current(at, paid_on)
                if "SHORT_PREPAY" in KNOWN_DEFECTS and cur is not None:
                    # more than the interest to date, so that some principal is prepaid
                    amt += m._cur_interest_to_date(cur, paid_on) + cur.unpaid_cryst
                if amt >= m.payoff_amount(at):
                    continue
                kind = "PREPAYMENT"
            else:
                extra = Decimal(d.draw(st.sampled_from([0, 0, 0, 150])))
                if "REFUND" in KNOWN_DEFECTS and (extra or at.suspense or stt.suspense):
                    continue
                amt = m.payoff_amount(at) + extra
                kind = "PAYOFF"
            if amt <= 0:
                continue
            txn = self.new_id("T")
            pay = Pay(txn, paid_on, amt, kind)
            self.pays[no].append(pay)
            self.txn_loan[txn] = no
            files["repayments"].append((txn, no, paid_on, str(amt), "BORROWER", kind))
            self.log.append(f"{day} pay {no} {pay}")
        return files


def settle(world: World, day: date, files: dict):
    results = partner_files_import(partner=world.code, business_date=day, files=files)
    for kind, r in results.items():
        assert r["status"] == "ACCEPTED" and not r["quarantined"], (day, kind, r)
    run = runner.settlement_run(partner=Partner.objects.get(code=world.code), business_date=day)
    assert run.state == "DONE", (day, run.state, run.error, run.totals.get("check_problems"))
    world.last = day


def positions_of(day):
    from django.db import connection
    with connection.cursor() as cur:
        cur.execute(
            """SELECT l.loan_no, f.code, x.principal, x.interest, x.penalty + x.compound
                 FROM lending_share_positions(%s) x
                 JOIN lending_loan l ON l.id = x.loan_id
                 JOIN partners_partner f ON f.id = x.funder_id""", [day])
        out: dict = {}
        for no, fc, p, i, pc in cur.fetchall():
            out.setdefault(no, {})[fc] = (p, i, pc)
        return out


def same(got: dict, want: dict, cent_split: bool) -> bool:
    """Equal to the cent; with `cent_split`, each component's total equal and each funder's
    part within one cent."""
    if got == want or not cent_split or set(got) != set(want):
        return got == want
    for k in range(3):
        if sum(Decimal(v[k]) for v in got.values()) != sum(Decimal(v[k]) for v in want.values()):
            return False
        if any(abs(Decimal(got[f][k]) - Decimal(want[f][k])) > Decimal("0.01") for f in got):
            return False
    return True


def compare(world: World, day: date) -> list[str]:
    diffs = []
    pos = positions_of(day)
    gl_bank, gl_memo = Decimal(0), Decimal(0)
    stmt_expect: dict[str, Decimal] = {}
    per_loan: dict[str, dict[str, Decimal]] = {}  # the model's bank collections by loan
    all_funders: dict[str, dict[str, Decimal]] = {}  # ... and every funder's, by loan
    for no, m in world.models.items():
        stt = world.model_state(no, day)
        loan = Loan.objects.get(loan_no=no)
        # Stored balances: principal and interest. Penalty and compound are compared in the
        # positions (stored + accrued, what the books carry): the engine stores the day's
        # penalty at the end of each day it processes the loan (the day's derived position,
        # §8.6), the model at billing and payments, so only where it is kept differs.
        shares = {s.funder.code: (s.principal_outstanding, s.interest_outstanding, 0)
                  for s in loan.shares.select_related("funder")}
        want = {fc: (v["PRINCIPAL"], v["INTEREST"], 0) for fc, v in stt.shares.items()}
        tol = no in world.split_tolerant
        if not same(shares, want, tol):
            diffs.append(f"{day} {no} shares system={shares} model={want}")
        wpos = m.positions(stt)
        got = pos.get(no, {fc: (0, 0, 0) for fc in wpos})
        if not same(got, wpos, tol):
            diffs.append(f"{day} {no} positions system={got} model={wpos}")
        if (loan.state, loan.dpd) != (stt.state, stt.dpd):
            diffs.append(f"{day} {no} state/dpd system={(loan.state, loan.dpd)} "
                         f"model={(stt.state, stt.dpd)}")
        gl_bank += stt.shares["BANK"]["PRINCIPAL"]
        gl_memo += stt.shares[world.code]["PRINCIPAL"]
        # the statement of business day `day` books what today's files changed: the model's
        # cumulative bank-share collections, advances and refunds with today's payments less
        # without them (payments carry their value date, §8.11)
        old = m.run(day, world.before.get(no, []), world.crystal[no], world.icrystal[no])
        for sign, s_ in ((1, stt), (-1, old)):
            for coll in s_.collected.values():
                for (fc, comp), a in coll.items():
                    every = all_funders.setdefault(no, {})
                    every[comp] = every.get(comp, Decimal(0)) + sign * a
                    if fc == "BANK":
                        k = f"COLLECTION_{comp}"
                        stmt_expect[k] = stmt_expect.get(k, Decimal(0)) + sign * a
                        mine = per_loan.setdefault(no, {})
                        mine[comp] = mine.get(comp, Decimal(0)) + sign * a
            for k, dct in (("OVERPAYMENT", s_.overpaid), ("REFUND", s_.refunded)):
                stmt_expect[k] = stmt_expect.get(k, Decimal(0)) + sign * sum(dct.values(), 0)
    gl = {}
    for book, want in (("BANK_GL", gl_bank), (f"MEMO_{world.code}", gl_memo)):
        try:
            got = account_balance_get(book=book, account=chart.LOANS_RECEIVABLE, as_of=day,
                                      program=f"{world.code}/CASH").balance
        except UnknownLedgerObject:  # a book is opened by its first posting
            got = Decimal(0)
        gl[book] = (got, want)
    # the split of a reversal (split_tolerant): each book within a cent per such loan, the
    # books together exact
    slack = Decimal("0.01") * len(world.split_tolerant)
    if sum(g for g, _ in gl.values()) != sum(w for _, w in gl.values()) or any(
            abs(g - w) > slack for g, w in gl.values()):
        for book, (got, want) in gl.items():
            diffs.append(f"{day} GL {book} loans receivable system={got} model={want}")
    st_ = Statement.objects.filter(counterparty__code=world.code, business_date=day).first()
    lines: dict[str, Decimal] = {}
    if st_ is not None:
        for ln in st_.lines.all():
            lines[ln.line_type] = lines.get(ln.line_type, Decimal(0)) + ln.amount
    # only the collection / advance / refund lines are modelled; reversal lines net in them
    got_lines = {}
    for k, v in lines.items():
        base = k.removeprefix("REVERSAL_")
        if base.startswith("COLLECTION_") or base in ("OVERPAYMENT", "REFUND"):
            # a statement line is signed from the partner's side (+ it pays the bank): the
            # refund the bank owes the borrower through it is negative
            got_lines[base] = got_lines.get(base, Decimal(0)) + (-v if base == "REFUND" else v)
    got_lines = {k: v for k, v in got_lines.items() if v}
    stmt_expect = {k: v for k, v in stmt_expect.items() if v}
    if got_lines != stmt_expect and not any(day in world.crystal[n] for n in world.models):
        by_loan = _collections_by_loan(day, per_loan, all_funders, world.split_tolerant)
        if by_loan or got_lines.keys() - {f"COLLECTION_{c}" for c in ORDER} != \
                stmt_expect.keys() - {f"COLLECTION_{c}" for c in ORDER} or any(
                got_lines.get(k) != v for k, v in stmt_expect.items()
                if not k.startswith("COLLECTION_")):
            diffs.append(f"{day} statement {world.code} system={got_lines} "
                         f"model={stmt_expect}")
            diffs.extend(by_loan)
    return diffs


def _loan_detail(world: World, no: str, day: date) -> list[str]:
    """ORACLE_DEBUG=1: the model's instalments and the system's movements of `day`."""
    from lending.models import Installment, Movement
    stt = world.model_state(no, day)
    out = [f"model {no} {it}" for it in stt.insts]
    ln = Loan.objects.get(loan_no=no)
    out.append(f"system {no} accrual {ln.accrual_from}..{ln.accrual_to} {ln.accrual_amount} "
               f"billed {ln.billed_seq} penalty from {ln.penalty_from} base {ln.penalty_base}")
    out += [f"system {no} {i.seq} due {i.due_on} p {i.principal_due}/{i.principal_paid} "
            f"i {i.interest_due}/{i.interest_paid} {i.status}"
            for i in Installment.objects.filter(loan__loan_no=no).order_by("seq")]
    out += [f"system {no} move {m.business_date} {m.funder.code} {m.event} {m.component} {m.amount} "
            f"seq={m.installment_seq} txn={m.txn_id}"
            for m in Movement.objects.filter(loan__loan_no=no, business_date__gte=day - timedelta(40))
            .select_related("funder").order_by("id")]
    return out


def _collections_by_loan(day, bank_model, all_model, tolerated) -> list[str]:
    """The loans whose collections of `day` differ between system and model. A loan in
    `tolerated` (World.split_tolerant) may differ by a cent in the bank's part of a component
    when the component's total over all funders is equal (the split of a restored balance)."""
    from django.db.models import Sum

    from lending.models import Movement
    bank: dict[str, dict[str, Decimal]] = {}
    every: dict[str, dict[str, Decimal]] = {}
    for r in (Movement.objects.filter(business_date=day, event="COLLECT")
              .values("loan__loan_no", "funder__code", "component").annotate(a=Sum("amount"))):
        no, comp = r["loan__loan_no"], r["component"]
        e = every.setdefault(no, {})
        e[comp] = e.get(comp, Decimal(0)) + r["a"]
        if r["funder__code"] == "BANK":
            bank.setdefault(no, {})[comp] = r["a"]
    out = []
    for no in sorted(set(bank) | set(bank_model) | set(every) | set(all_model)):
        got = {k: v for k, v in bank.get(no, {}).items() if v}
        want = {k: v for k, v in bank_model.get(no, {}).items() if v}
        if got == want:
            continue
        if no in tolerated:
            got_all = {k: v for k, v in every.get(no, {}).items() if v}
            want_all = {k: v for k, v in all_model.get(no, {}).items() if v}
            if got_all == want_all and all(
                    abs(got.get(k, Decimal(0)) - want.get(k, Decimal(0))) <= Decimal("0.01")
                    for k in set(got) | set(want)):
                continue
        out.append(f"  {no}: bank system={got} model={want}")
    return out


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          # `make test` runs the same fixed examples every time; ORACLE_EXAMPLES=N searches
          derandomize="ORACLE_EXAMPLES" not in os.environ,
          suppress_health_check=list(HealthCheck),
          # a DB-backed world takes seconds: shrinking is opt-in (ORACLE_SHRINK=1)
          phases=[Phase.explicit, Phase.reuse, Phase.generate]
          + ([Phase.shrink] if os.environ.get("ORACLE_SHRINK") else []))
@given(data=st.data())
@(reproduce_failure(*os.environ["ORACLE_REPRODUCE"].split(":", 1))  # version:blob of a failure
  if os.environ.get("ORACLE_REPRODUCE") else (lambda fn: fn))
def test_settlement_agrees_with_the_model_every_day(data):
    ratio = data.draw(st.sampled_from([Decimal("0.70"), Decimal("0.60")]), label="bank ratio")
    grace = data.draw(st.sampled_from([0, 3]), label="grace")
    mult = data.draw(st.sampled_from([Decimal("1.5"), Decimal("1.3")]), label="multiplier")
    ndays = int(os.environ.get("ORACLE_DAYS", "60"))
    holidays = data.draw(st.sets(st.integers(1, ndays), max_size=4), label="holidays")
    code = f"W{next(WORLDS)}"
    kept = {c.day: (c.kind, c.name) for c in CalendarDay.objects.filter(
        day__in=[START + timedelta(days=k) for k in holidays])}
    try:
        world_setup(code, ratio, grace, mult)
        for k in holidays:
            CalendarDay.objects.update_or_create(
                day=START + timedelta(days=k),
                defaults={"kind": CalendarDayKind.HOLIDAY, "name": "oracle holiday"})
        world = World(code, data, ratio, grace, mult)
        for day in business_days(START, START + timedelta(days=ndays)):
            files = world.plan_day(day)
            settle(world, day, files)
            diffs = compare(world, day)
            bad = sorted({d.split()[1] for d in diffs} & set(world.models))
            if not bad:  # a statement difference: the loans paid or reversed that day
                bad = sorted({ln.split()[2] for ln in world.log
                              if ln.startswith(f"{day} ") and ln.split()[1] != "loan"})
            story = [ln for ln in world.log if any(f"'{n}'" in ln or f" {n} " in ln
                                                   for n in bad[:3])]
            dbg = os.environ.get("ORACLE_DEBUG", "")  # 1: the first loan; or a loan_no
            detail = _loan_detail(world, dbg if dbg in world.models else bad[0], day) if (
                diffs and bad and dbg) else []
            assert not diffs, "\n".join(diffs[:6] + ["--- story:"] + story[-25:] + detail)
    finally:  # the bank's calendar as it was, for the next world and test
        for k in holidays:
            d = START + timedelta(days=k)
            if d in kept:
                CalendarDay.objects.filter(day=d).update(kind=kept[d][0], name=kept[d][1])
            else:
                CalendarDay.objects.filter(day=d).delete()
