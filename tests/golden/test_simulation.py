"""Simulation: a few thousand loans over 120+ business days of random events, delivered as
partner files and settled every day; after every day the books hold (issue 6, acceptance 2).

Two platforms, four programs and three interest rules:
- ALPHA, agreement PRO_RATA 70/30 with the licensed guarantor GUARD: program A_CASH (claims
  at DPD 30, so that many are paid within the run) and program A_WO (no guarantee, write-off
  at DPD 60);
- BETA, agreement BANK_FIXED_YIELD 70/30 (bank yield 8 %): program B_FY;
- BETA, agreement PER_FUNDER_RATE 65/35 (bank 10 %, BETA 30 %): program B_PF.
Every repayment method. Events from a seeded generator: on-time, late, partial, early and
over-payments, prepayments, payoffs (some over-paid), guarantor claims (代偿) with borrower money
the same day before or after them and later recoveries, write-off recoveries, reversals of
repayments settled days before, payments on closed loans, new loans every day.

After every day: every run DONE, `ledger.checks.run_checks` clean (entries balanced, trial
balances, sub-ledger = GL per program/funder/component, statements tie to the GL settlement
accounts, file rows = applied + quarantined), and independently here: every loan's balances
= Σ of its shares for all four components, no share negative, the open loans' schedules carry
their principal, each statement's net = Σ lines and the day's statements = the day's GL movement
on the settlement accounts, and the cash of the day's applied rows = Σ of the cash movements.
"""

from __future__ import annotations

import os
import random
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection

from ledger import checks
from ledger.services import chart_of_accounts_load
from lending.intake.writer import partner_files_import
from lending.settlement import runner
from partners.models import Partner
from tests.factories import lending as f
from tests.factories.calendar import only_business_day
from tests.support.ledger import ledger_purge

# Committed days, as in production: inside one test transaction every chunk's temp tables (ON
# COMMIT DROP) hold their locks to the end and exhaust max_locks_per_transaction after ~100 days.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _purge_ledger(transactional_db):
    yield
    ledger_purge()  # the ledger refuses the flush's TRUNCATE while it holds rows

START = date(2026, 1, 5)
DAYS = int(os.environ.get("SIM_DAYS", "125"))
INITIAL_LOANS = int(os.environ.get("SIM_INITIAL_LOANS", "2500"))
NEW_PER_DAY = int(os.environ.get("SIM_NEW_PER_DAY", "4"))  # per partner
SEED = int(os.environ.get("SIM_SEED", "20260105"))
CENT = Decimal("0.01")
PROGRAMS = {"ALPHA": ("A_CASH", "A_WO"), "BETA": ("B_FY", "B_PF")}
METHODS = ("EQUAL_INSTALLMENT", "EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST",
           "DAILY")


def q2(x) -> Decimal:
    return Decimal(x).quantize(CENT, ROUND_HALF_UP)


def _setup() -> None:
    chart_of_accounts_load()
    alpha, beta = f.partner("ALPHA"), f.partner("BETA")
    guard = f.partner("GUARD", kind="GUARANTOR")
    methods = {"repayment_methods": list(set(METHODS)), "max_annual_rate": Decimal("0.24"),
               "max_term_months": 12}
    va = f.active_agreement(code="AG-A", platform=alpha, guarantor=guard,
                            effective_from=date(2025, 1, 1))
    f.program(code="A_CASH", version=va, claim_trigger_dpd=30, write_off_dpd=None, **methods)
    f.program(code="A_WO", version=va, claim_trigger_dpd=None, write_off_dpd=60, **methods)
    vy = f.active_agreement(code="AG-BY", platform=beta, effective_from=date(2025, 1, 1),
                            interest_split_rule="BANK_FIXED_YIELD", bank_rate=Decimal("0.08"))
    f.program(code="B_FY", version=vy, claim_trigger_dpd=None, write_off_dpd=None, **methods)
    vp = f.active_agreement(code="AG-BP", platform=beta, effective_from=date(2025, 1, 1),
                            bank_ratio=Decimal("0.65"), interest_split_rule="PER_FUNDER_RATE",
                            bank_rate=Decimal("0.10"), platform_rate=Decimal("0.30"))
    f.program(code="B_PF", version=vp, claim_trigger_dpd=None, write_off_dpd=None, **methods)


class Generator:
    """Random but reproducible partner files for one day, from the bank's current state."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.n_loans = 0
        self.n_txn = 0
        self.applied: dict[str, list[tuple[date, str, str]]] = {"ALPHA": [], "BETA": []}

    def txn(self) -> str:
        self.n_txn += 1
        return f"T{self.n_txn:07d}"

    def new_loans(self, partner: str, day: date, n: int) -> list[tuple]:
        rows = []
        for _ in range(n):
            self.n_loans += 1
            method = self.rnd.choice(METHODS)
            principal = Decimal(self.rnd.randrange(500_00, 50_000_00)) / 100
            rate = Decimal(self.rnd.choice(("0.072", "0.12", "0.18", "0.2399")))
            term = 0 if method == "DAILY" else self.rnd.choice((3, 6, 6, 12))
            program = self.rnd.choice(PROGRAMS[partner])
            rows.append((f"{partner[0]}{self.n_loans:06d}", program, f"b{self.n_loans}",
                         principal, rate, term, method, day, None, f"BA{self.n_loans}"))
        return rows

    def day_files(self, partner: str, day: date) -> dict[str, list]:
        rnd, pays, revs = self.rnd, [], []
        with connection.cursor() as cur:
            cur.execute(
                """WITH i AS (
                       SELECT i.loan_id,
                              SUM(i.principal_due - i.principal_paid + i.interest_due
                                  - i.interest_paid) FILTER (WHERE i.due_on <= %(d)s) AS arrears,
                              MIN(i.due_on) FILTER (WHERE i.due_on > %(d)s) AS next_due,
                              MIN(i.due_on) FILTER (WHERE i.status <> 'PAID') AS first_open
                         FROM lending_installment i GROUP BY i.loan_id)
                   SELECT l.loan_no, l.state, l.repayment_method, l.oldest_unpaid_due_on,
                          COALESCE(i.arrears, 0),
                          (SELECT n.principal_due - n.principal_paid + n.interest_due
                                  - n.interest_paid FROM lending_installment n
                            WHERE n.loan_id = l.id AND n.due_on = i.next_due),
                          l.principal_outstanding, c.status = 'RAISED', c.amount,
                          i.first_open = %(d)s
                     FROM lending_loan l JOIN partners_partner p ON p.id = l.partner_id
                     JOIN i ON i.loan_id = l.id
                     LEFT JOIN lending_claim c ON c.loan_id = l.id
                    WHERE p.code = %(p)s ORDER BY l.id""", {"d": day, "p": partner})
            loans = cur.fetchall()
        for (loan_no, state, method, oldest, arrears, next_amount, principal, claim_open,
             claim_amount, due_today) in loans:
            r = rnd.random()
            if state in ("ACTIVE", "OVERDUE") and method == "DAILY":
                if r < 0.02:  # 随借随还: repay part of the principal any day
                    pays.append((self.txn(), loan_no, day,
                                 q2(principal * Decimal(rnd.uniform(0.1, 0.6))) + 1,
                                 "BORROWER", "SCHEDULED"))
                elif r < 0.025:
                    pays.append((self.txn(), loan_no, day, q2(principal * Decimal("1.02")),
                                 "BORROWER", "PAYOFF"))
                continue
            if state == "CLAIMED":
                if r < 0.03:
                    pays.append((self.txn(), loan_no, day,
                                 q2(Decimal(rnd.uniform(10, 800))), "BORROWER", "SCHEDULED"))
                continue
            if state == "WRITTEN_OFF":
                if r < 0.02:
                    pays.append((self.txn(), loan_no, day,
                                 q2(Decimal(rnd.uniform(10, 500))), "BORROWER", "SCHEDULED"))
                continue
            if state == "PAID_OFF":
                if r < 0.001:  # a payment on a closed loan: quarantined at apply
                    pays.append((self.txn(), loan_no, day, Decimal("10.00"), "BORROWER",
                                 "SCHEDULED"))
                continue
            if claim_open and claim_amount and rnd.random() < 0.3:
                claim = (self.txn(), loan_no, day, claim_amount, "GUARANTOR", "SCHEDULED")
                borrower = (self.txn(), loan_no, day, q2(Decimal(rnd.uniform(50, 400))),
                            "BORROWER", "SCHEDULED")
                x = rnd.random()
                pays += [claim] if x < 0.6 else [claim, borrower] if x < 0.8 else \
                    [borrower, claim]
                continue
            if arrears > 0 and due_today and oldest == day:  # an instalment falls due today
                if r < 0.72:
                    pays.append((self.txn(), loan_no, day, arrears, "BORROWER", "SCHEDULED"))
                elif r < 0.80:
                    pays.append((self.txn(), loan_no, day,
                                 q2(arrears * Decimal(rnd.uniform(0.1, 0.9))), "BORROWER",
                                 "SCHEDULED"))
                elif r < 0.85:
                    pays.append((self.txn(), loan_no, day,
                                 arrears + q2(Decimal(rnd.uniform(1, 300))), "BORROWER",
                                 "SCHEDULED"))
                continue  # else: late
            if state == "OVERDUE" and arrears > 0:
                if r < 0.06:  # late payer catches up (a little over: the rest is suspense)
                    pays.append((self.txn(), loan_no, day, q2(arrears * Decimal("1.03")),
                                 "BORROWER", "SCHEDULED"))
                elif r < 0.08:
                    pays.append((self.txn(), loan_no, day,
                                 q2(arrears * Decimal(rnd.uniform(0.05, 0.5))), "BORROWER",
                                 "SCHEDULED"))
                continue
            if r < 0.003 and next_amount:  # early
                pays.append((self.txn(), loan_no, day, next_amount, "BORROWER", "SCHEDULED"))
            elif r < 0.005:
                pays.append((self.txn(), loan_no, day,
                             q2(principal * Decimal(rnd.uniform(0.1, 0.5))), "BORROWER",
                             "PREPAYMENT"))
            elif r < 0.006:
                extra = q2(Decimal(rnd.choice((0, 0, 5, 100))))
                pays.append((self.txn(), loan_no, day, q2(principal * Decimal("1.02")) + extra,
                             "BORROWER", "PAYOFF"))
        # Reversals of repayments applied on earlier days (冲正 after settlement).
        earlier = [x for x in self.applied[partner] if (day - x[0]).days <= 10]
        for when, txn_no, amount in rnd.sample(earlier, min(len(earlier), rnd.randrange(0, 3))):
            revs.append((self.txn(), txn_no, day, amount, "reversed by the card issuer"))
            self.applied[partner].remove((when, txn_no, amount))
        files = {"repayments": pays, "reversals": revs,
                 "loans": self.new_loans(partner, day, rnd.randrange(NEW_PER_DAY // 2,
                                                                      NEW_PER_DAY * 3 // 2 + 1))}
        return files

    def remember(self, partner: str, day: date) -> None:
        with connection.cursor() as cur:
            cur.execute("""SELECT r.txn_no, r.amount FROM lending_stagedrepayment r
                             JOIN partners_partner p ON p.id = r.partner_id
                            WHERE p.code = %s AND r.business_date = %s
                              AND r.status = 'APPLIED' ORDER BY r.row_no""", [partner, day])
            self.applied[partner] += [(day, t, a) for t, a in cur.fetchall()]


def _settle(partner: str, day: date, files: dict) -> None:
    # every calendar day of this world is a business day (the calendar is data; intake and the
    # run refuse a day that is not one, and a date settles only after every earlier one)
    only_business_day(day, partner_code=partner)
    results = partner_files_import(partner=partner, business_date=day, files=files)
    assert all(r["status"] == "ACCEPTED" for r in results.values()), results
    run = runner.settlement_run(partner=Partner.objects.get(code=partner), business_date=day)
    assert run.state == "DONE", (day, partner, run.error, run.totals.get("check_problems"))


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _invariants(day: date) -> None:
    problems = checks.run_checks(as_of=day)
    assert problems == [], (day, problems[:10])
    bad = _rows("""
        SELECT l.loan_no, l.principal_outstanding, SUM(s.principal_outstanding),
               l.interest_outstanding, SUM(s.interest_outstanding),
               l.penalty_outstanding, SUM(s.penalty_outstanding),
               l.compound_outstanding, SUM(s.compound_outstanding)
          FROM lending_loan l JOIN lending_loanshare s ON s.loan_id = l.id
         GROUP BY l.id
        HAVING l.principal_outstanding <> SUM(s.principal_outstanding)
            OR l.interest_outstanding <> SUM(s.interest_outstanding)
            OR l.penalty_outstanding <> SUM(s.penalty_outstanding)
            OR l.compound_outstanding <> SUM(s.compound_outstanding)
         LIMIT 5""")
    assert bad == [], (day, "loan balances != Σ shares", bad)
    bad = _rows("""SELECT l.loan_no, f.code, s.principal_outstanding, s.interest_outstanding,
                          s.penalty_outstanding, s.compound_outstanding
                     FROM lending_loanshare s JOIN lending_loan l ON l.id = s.loan_id
                     JOIN partners_partner f ON f.id = s.funder_id
                    WHERE LEAST(s.principal_outstanding, s.interest_outstanding,
                                s.penalty_outstanding, s.compound_outstanding) < 0 LIMIT 5""")
    assert bad == [], (day, "negative share balance", bad)
    bad = _rows("""SELECT l.loan_no, l.state, l.principal_outstanding,
                          SUM(i.principal_due - i.principal_paid)
                     FROM lending_loan l JOIN lending_installment i ON i.loan_id = l.id
                    WHERE l.state <> 'WRITTEN_OFF'
                    GROUP BY l.id HAVING l.principal_outstanding
                                         <> SUM(i.principal_due - i.principal_paid)
                    LIMIT 5""")
    assert bad == [], (day, "schedule principal != loan principal", bad)
    bad = _rows("""SELECT x.loan_id, x.funder_id, x.interest, x.penalty, x.compound
                     FROM lending_share_positions(%s) x
                    WHERE LEAST(x.interest, x.penalty, x.compound) < 0 LIMIT 5""", [day])
    assert bad == [], (day, "negative derived position", bad)
    # The one-pass totals (posting, sub-ledger = GL) = Σ of the per-share positions.
    per_share = _rows("""SELECT partner_id, funder_id, program_id, accruing, SUM(principal),
                                SUM(interest), SUM(penalty), SUM(compound)
                           FROM lending_share_positions(%s) GROUP BY 1, 2, 3, 4
                         HAVING SUM(principal) <> 0 OR SUM(interest) <> 0 OR SUM(penalty) <> 0
                             OR SUM(compound) <> 0 ORDER BY 1, 2, 3, 4""", [day])
    totals = _rows("""SELECT p.id, t.* FROM partners_partner p
                        CROSS JOIN LATERAL lending_position_totals(%s, p.id) t
                       WHERE t.principal <> 0 OR t.interest <> 0 OR t.penalty <> 0
                          OR t.compound <> 0 ORDER BY 1, 2, 3, 4""", [day])
    assert totals == per_share, (day, "position totals != Σ share positions")
    # Statements: net = Σ lines, and the day's statements = the day's GL movement on the
    # settlement accounts (due from platform/guarantor, due to platform, fee and recoveries
    # payable), debit positive.
    bad = _rows("""SELECT s.id, s.net_amount, COALESCE(SUM(l.amount), 0)
                     FROM lending_statement s LEFT JOIN lending_statementline l
                       ON l.statement_id = s.id WHERE s.business_date = %s
                    GROUP BY s.id HAVING s.net_amount <> COALESCE(SUM(l.amount), 0)""", [day])
    assert bad == [], (day, "statement net != lines", bad)
    ((st,),) = _rows("SELECT COALESCE(SUM(net_amount), 0) FROM lending_statement"
                     " WHERE business_date = %s", [day])
    ((glm,),) = _rows("""SELECT COALESCE(SUM(l.debit - l.credit), 0)
                           FROM ledger_journalline l
                           JOIN ledger_journalentry e ON e.id = l.entry_id
                           JOIN ledger_book b ON b.id = e.book_id
                           JOIN ledger_account a ON a.id = l.account_id
                          WHERE b.code = 'BANK_GL' AND e.business_date = %s
                            AND a.code IN ('1221', '1222', '2241', '2242', '2243')""", [day])
    assert st == glm, (day, "statements", st, "GL settlement accounts", glm)
    # Cash in = cash allocated: the day's applied repayments less applied reversals equal the
    # movements that carry a transaction (collections, recoveries, claims, suspense).
    ((cash,),) = _rows("""
        SELECT COALESCE((SELECT SUM(amount) FROM lending_stagedrepayment
                          WHERE business_date = %(d)s AND status = 'APPLIED'), 0)
             - COALESCE((SELECT SUM(amount) FROM lending_stagedreversal
                          WHERE business_date = %(d)s AND status = 'APPLIED'), 0)""",
                       {"d": day})
    ((moved,),) = _rows("""SELECT COALESCE(SUM(amount), 0) FROM lending_movement
                            WHERE business_date = %s AND txn_id IS NOT NULL
                              AND event IN ('COLLECT', 'RECOVERY', 'OVERPAY', 'CLAIM', 'CLAIM_EXCESS',
                                            'WO_RECOVERY')""", [day])
    assert cash == moved, (day, "cash", cash, "allocated", moved)


def test_simulation_many_loans_many_days_the_books_hold_every_day():
    started = time.monotonic()
    _setup()
    gen = Generator(SEED)
    day = START
    for partner in ("ALPHA", "BETA"):
        _settle(partner, day, {"loans": gen.new_loans(partner, day, INITIAL_LOANS // 2)})
    _invariants(day)
    for n in range(DAYS):
        day += timedelta(days=1)
        if os.environ.get("SIM_PROGRESS"):
            print(f"day {n} {day} {time.monotonic() - started:.0f}s", flush=True)
        for partner in ("ALPHA", "BETA"):
            _settle(partner, day, gen.day_files(partner, day))
            gen.remember(partner, day)
        _invariants(day)
    counts = dict(_rows("SELECT state, count(*) FROM lending_loan GROUP BY 1"))
    events = dict(_rows("SELECT event, count(*) FROM lending_movement GROUP BY 1"))
    elapsed = time.monotonic() - started
    print(f"\nsimulation: {sum(counts.values())} loans, {DAYS + 1} days, {gen.n_txn} txns, "
          f"{elapsed:.0f}s; states {counts}; movements {events}")
    # A few thousand loans over at least 120 business days (unless a shorter run was asked
    # for), and the generator did reach every kind of event the simulation is meant to cover.
    assert sum(counts.values()) >= 3000 and DAYS >= 120 or os.environ.get("SIM_DAYS"), counts
    for event in ("COLLECT", "OVERPAY", "SUSPENSE_APPLY", "CLAIM", "RECOVERY", "WRITE_OFF",
                  "WO_RECOVERY", "FEE"):
        assert events.get(event), f"no {event} movement in the simulation"
    assert _rows("SELECT count(*) FROM lending_movement WHERE reversal")[0][0] > 0
