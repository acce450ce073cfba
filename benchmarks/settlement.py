"""The settlement benchmark (issue 6, acceptance 5): a scratch portfolio and one standard day.

Portfolio (partners BENCH1 = platform, BENCH2 = guarantor; never the demo's): three agreements —
PRO_RATA 70/30 with the guarantor (programs BCASH, BSHOP), BANK_FIXED_YIELD 70/30 with an 8 %
bank yield (BFLEX: interest-first and daily loans), and a legacy agreement of 2020 with the
bank at 80 % (BLEG: daily loans disbursed in 2021 that run off). Loans are generated with the
pure domain and booked by `services.loans_book` in big batches (COPY); then two warm-up days
are settled through the chunk steps: W0 books the disbursements and brings the ~5 % overdue loans
forward (billing, penalty, claims at DPD 80, write-off at 180, non-accrual past 90), W1 has
guarantor claim payments (some loans become CLAIMED) and borrower payments on arrears.

The standard day is the next business date after the last settled one, so a kept portfolio is
reused run after run (each day books its 3 % of new loans). Its four partner files go through
the real intake, then `runner.settlement_run` does the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import resource
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction

from lending import services
from lending.models import Agreement, Loan, Program
from partners.models import Partner, PartnerKind

GUARANTOR = "BENCH2"
# The platform's code carries the generation of the portfolio (BENCHP3, ...): the settlement's
# source_run keys and ledger dimensions contain it, and posted ledger rows are append-only, so a
# rebuilt portfolio must never share them with the one it replaces.
PLATFORM_PREFIX = "BENCHP"
W0 = date(2023, 6, 1)  # warm-up 1: disbursements and catch-up of the overdue loans
W1 = date(2023, 6, 2)  # warm-up 2: guarantor claim payments, payments on arrears
# Loans per loans_book call: ~8 instalment rows each, so ~400k COPY rows and ~300 MB of row
# tuples at most per batch.
BOOK_BATCH = 50_000
OVERDUE_SHARE = 0.05
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ProgramSpec:
    code: str
    agreement: str
    methods: tuple[str, ...]
    terms: tuple[int, ...]
    rates: tuple[str, ...]
    principals: tuple[int, int]
    share: float  # of the portfolio


PROGRAMS = (
    ProgramSpec("BCASH", "AG-BENCH-PR", ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL"), (3, 6, 12),
                ("0.12", "0.18", "0.216"), (500, 20000), 0.50),
    ProgramSpec("BSHOP", "AG-BENCH-PR", ("EQUAL_INSTALLMENT",), (6, 12, 24), ("0.15", "0.24"),
                (300, 8000), 0.20),
    ProgramSpec("BFLEX", "AG-BENCH-FY", ("INTEREST_FIRST", "DAILY"), (6, 12), ("0.18",),
                (1000, 10000), 0.25),
    ProgramSpec("BLEG", "AG-BENCH-LEG", ("DAILY",), (0,), ("0.12", "0.15"), (2000, 30000), 0.05),
)


def maxrss_mb() -> float:
    """This process's peak resident memory so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _exec(sql: str, params=None) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


# --- Set-up -------------------------------------------------------------------------------------

# The platform's legal name carries the portfolio's size and generation: "... N=<n> G=<gen>".
# Posted ledger lines are append-only, so a rebuilt portfolio must not reuse the program
# dimensions of the one before: each generation has its own program codes (BCASHG2, ...).


def _current() -> Partner | None:
    return (Partner.objects.filter(kind=PartnerKind.PLATFORM,
                                   legal_name__startswith="Bench platform")
            .order_by("-pk").first())


def platform_code() -> str:
    """The current scratch platform's code, or the code of the next generation's."""
    p = _current()
    if p is not None:
        return p.code
    gen = 1 + Partner.objects.filter(legal_name__istartswith="retired bench platform").count()
    return f"{PLATFORM_PREFIX}{gen}"


def _marker() -> tuple[int | None, int]:
    p = _current()
    if p is None:
        return None, 0
    parts = dict(x.split("=", 1) for x in p.legal_name.split() if "=" in x)
    n = parts.get("N")
    return (int(n) if n and n != "-" else None), int(parts.get("G", 0))


def portfolio_marker() -> int | None:
    """N of the kept portfolio (None: none, or its build did not finish)."""
    return _marker()[0]


def _set_marker(n: int | None, gen: int) -> None:
    Partner.objects.filter(pk=_current().pk).update(
        legal_name=f"Bench platform N={'-' if n is None else n} G={gen}")


def program_code(spec_code: str, gen: int) -> str:
    return f"{spec_code}G{gen}"


# What a wipe deletes, children first: (table, the rows of the platform %(p)s).
_RUNS = "run_id IN (SELECT id FROM lending_settlementrun WHERE partner_id = %(p)s)"
_LOANS = "loan_id IN (SELECT id FROM lending_loan WHERE partner_id = %(p)s)"
_WIPE = (
    ("lending_break", "partner_id = %(p)s"),
    ("lending_statementline", "statement_id IN (SELECT s.id FROM lending_statement s JOIN "
                              "lending_settlementrun r ON r.id = s.run_id "
                              "WHERE r.partner_id = %(p)s)"),
    ("lending_statement", _RUNS),
    ("lending_movement", _RUNS),
    ("lending_runchunk", _RUNS),
    ("lending_runevent", _RUNS),
    ("lending_settlementrun", "partner_id = %(p)s"),
    ("lending_claim", _LOANS),
    ("lending_installment", _LOANS),
    ("lending_loanshare", _LOANS),
    ("lending_loan", "partner_id = %(p)s"),
)


def portfolio_wipe(*, say=print) -> None:
    """Delete the scratch portfolio (loans, runs, files, statements, breaks — not the ledger,
    which is append-only) and retire its programs; the next build is a new generation. Must
    run outside a transaction: the emptied tables are vacuumed after the delete commits."""
    p = _current()
    if p is None:
        return
    started = time.monotonic()
    _n, gen = _marker()
    params = {"p": p.pk}
    with transaction.atomic():
        for table, where in _WIPE:
            _exec(f"DELETE FROM {table} WHERE {where}", params)
        _exec("UPDATE lending_program SET active = false WHERE partner_id = %(p)s", params)
        # Quarantined rows, the file registry and the ledger are append-only, and the staged
        # rows account for the files' rows (lending.file_rows_accounted): they all stay with
        # the retired platform (the next build creates BENCHP<gen + 1>).
        Partner.objects.filter(pk=p.pk).update(legal_name=f"retired bench platform G={gen}")
    deleted = time.monotonic() - started
    # The deleted rows are most of these tables. Without a VACUUM the rebuild appended a new
    # portfolio after the dead one (lending_installment: 2.4 GB of heap where one portfolio
    # takes ~1 GB) and the next day's scans read both; VACUUM frees the pages for the rebuild
    # and cuts off the empty end of each table.
    _exec("VACUUM (ANALYZE) " + ", ".join(table for table, _where in _WIPE))
    say(f"  wiped the previous bench portfolio (generation {gen}) in {deleted:.1f}s, "
        f"then vacuumed its tables in {time.monotonic() - started - deleted:.1f}s")


def _user(name: str):
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=name, defaults={"is_staff": True})
    return user


def _agreement(code: str, *, platform: Partner, guarantor: Partner | None, bank_ratio: str,
               effective_from: date, bank_rate: str | None = None, **terms) -> Agreement:
    existing = Agreement.objects.filter(code=code).first()
    if existing:
        return existing
    bank = Partner.objects.get(kind=PartnerKind.BANK)
    agreement = services.agreement_create(code=code, name=f"bench {code}", platform=platform,
                                          guarantor=guarantor, signed_on=effective_from)
    ratio = Decimal(bank_ratio)
    version = services.agreement_version_draft(
        agreement=agreement, effective_from=effective_from,
        funders=[services.FunderTerms(bank, ratio, Decimal(bank_rate) if bank_rate else None),
                 services.FunderTerms(platform, 1 - ratio)],
        created_by=_user("bench-maker"), **terms)
    services.agreement_version_approve(version=version, approved_by=_user("bench-checker"))
    return agreement


@transaction.atomic
def bench_setup() -> dict[str, Program]:
    """The scratch partners, agreements and programs (idempotent)."""
    from ledger.services import chart_of_accounts_load

    chart_of_accounts_load()
    code = platform_code()
    platform, _ = Partner.objects.get_or_create(
        code=code, defaults={"legal_name": "Bench platform", "kind": PartnerKind.PLATFORM})
    guarantor, _ = Partner.objects.get_or_create(
        code=GUARANTOR, defaults={"legal_name": "Bench guarantor", "kind": PartnerKind.GUARANTOR})
    n, gen = _marker()
    if gen == 0:  # a new generation: new program codes (new ledger dimensions)
        gen = int(code[len(PLATFORM_PREFIX):])
        _set_marker(None, gen)
    agreements = {
        "AG-BENCH-PR": _agreement(f"AG-BENCH-PR-G{gen}", platform=platform, guarantor=guarantor,
                                  bank_ratio="0.70", effective_from=date(2022, 1, 1)),
        "AG-BENCH-FY": _agreement(f"AG-BENCH-FY-G{gen}", platform=platform, guarantor=guarantor,
                                  bank_ratio="0.70", bank_rate="0.08",
                                  effective_from=date(2022, 1, 1),
                                  interest_split_rule="BANK_FIXED_YIELD"),
        # legacy: before the 2022 ratio rule, the platform holds only 20 %
        "AG-BENCH-LEG": _agreement(f"AG-BENCH-LEG-G{gen}", platform=platform, guarantor=None,
                                   bank_ratio="0.80", effective_from=date(2020, 1, 1),
                                   penalty_split_rule="PLATFORM"),
    }
    out = {}
    for spec in PROGRAMS:
        code = program_code(spec.code, gen)
        program = Program.objects.filter(partner=platform, code=code).first()
        if program is None:
            program = services.program_create(
                partner=platform, agreement=agreements[spec.agreement], code=code,
                name=f"bench {spec.code}", repayment_methods=list(spec.methods),
                min_annual_rate=Decimal("0.10"), max_annual_rate=Decimal("0.24"),
                max_principal=Decimal("50000"), max_term_months=36 if spec.code == "BLEG" else 24,
                claim_trigger_dpd=None if spec.code == "BLEG" else 80,
                write_off_dpd=180)
        out[spec.code] = program
    return out


# --- Portfolio ----------------------------------------------------------------------------------


def portfolio_size() -> int:
    return _fetch("SELECT count(*) FROM lending_loan l JOIN partners_partner p"
                  " ON p.id = l.partner_id WHERE p.code = %s", [platform_code()])[0][0]


def _loans(n: int, programs: dict[str, Program], rng: random.Random, tokens: list[str]):
    """The portfolio's LoanToBook rows, generated lazily (deterministic for the seed)."""
    from lending.domain.schedule import add_months

    cum, acc = [], 0.0
    for spec in PROGRAMS:
        acc += spec.share
        cum.append((acc, spec))
    for k in range(n):
        x = rng.random()
        spec = next(s for c, s in cum if x <= c) if x <= cum[-1][0] else cum[-1][1]
        program = programs[spec.code]
        method = rng.choice(spec.methods)
        term = 0 if method == "DAILY" else rng.choice(spec.terms)
        first_due = None
        if spec.code == "BLEG":  # legacy revolving credit from 2021, matures 2024
            disbursed = date(2021, 1, 1) + timedelta(days=rng.randrange(365))
        elif method == "DAILY":
            disbursed = W0 - timedelta(days=rng.randrange(180))
        elif rng.random() < OVERDUE_SHARE / 0.75 and method != "INTEREST_FIRST":
            # overdue: the first instalment fell due 1..200 days before W0, nothing paid
            first_due = W0 - timedelta(days=1 + rng.randrange(200))
            disbursed = add_months(first_due, -1)
        else:  # performing, in its first period: the first due dates spread over a month
            disbursed = W0 - timedelta(days=rng.randrange(30))
        principal = Decimal(rng.randrange(spec.principals[0] * 100,
                                          spec.principals[1] * 100)) / 100
        loan_no = f"B{k:09d}"
        yield services.LoanToBook(
            partner_id=program.partner_id, loan_no=loan_no, program_id=program.pk,
            borrower_token=tokens[k % len(tokens)], principal=principal.quantize(CENT),
            annual_rate=Decimal(rng.choice(spec.rates)), term_months=term,
            repayment_method=method, disbursed_on=disbursed, first_due_on=first_due,
            bank_approval_ref=f"BA-{loan_no}", source_ref=loan_no)


def _settle_without_files(partner: Partner, day: date, say) -> None:
    """A warm-up day through the chunk steps (no balances file: nothing to reconcile)."""
    from lending.settlement import runner, steps
    from lending.settlement.models import RunState, SettlementRun

    run, _ = SettlementRun.objects.get_or_create(partner=partner, business_date=day)
    if run.state == RunState.DONE:
        return
    run.state, run.step = RunState.RUNNING, "BOOK"
    run.save(update_fields=["state", "step"])
    for seq in range(steps.plan_book(run)):
        steps.book_chunk(run_id=run.pk, seq=seq)
    if day == W0:
        # The portfolio was booked directly (loans_book, not through a loans file): its
        # disbursements enter the sub-ledger with this first day's run, as the run's book step
        # does for the loans it books.
        moved = _fetch("SELECT 1 FROM lending_movement WHERE business_date = %s AND run_id = %s"
                       " AND event = 'DISBURSE' LIMIT 1", [day, run.pk])
        if not moved:  # a resumed build does not move them twice
            steps.disburse_movements(run, loan_nos=None)
    total = steps.plan_apply(run)
    t0 = time.monotonic()
    for seq in range(total):
        steps.apply_chunk(run_id=run.pk, seq=seq)
    say(f"  warm-up {day}: {total} chunks in {time.monotonic() - t0:.1f}s")
    out = runner.settlement_finalize(run_id=run.pk)
    run.refresh_from_db()
    if out["state"] != RunState.DONE:
        raise RuntimeError(f"warm-up {day} failed: {run.error}")


def portfolio_build(n: int, *, seed: int = 6, say=print) -> dict:
    """Book N loans and settle the two warm-up days; returns timings."""
    started = time.monotonic()
    programs = bench_setup()
    platform = Partner.objects.get(code=platform_code())
    rng = random.Random(seed)
    tokens = [services.borrower_token(partner_code=platform_code(), borrower_ref=f"U{i:07d}")
              for i in range(5000)]
    gen = _loans(n, programs, rng, tokens)
    booked = portfolio_size()  # a build that stopped part-way resumes (batches are atomic)
    for _ in zip(range(booked), gen, strict=False):
        pass
    while True:
        batch = [x for _, x in zip(range(BOOK_BATCH), gen, strict=False)]
        if not batch:
            break
        result = services.loans_book(loans=batch, booked_on=W0)
        if result.rejected:
            raise RuntimeError(f"bench loans rejected: {result.rejected[:3]}")
        booked += result.booked
        say(f"  booked {booked:,}/{n:,} ({time.monotonic() - started:.0f}s)")
    _exec("ANALYZE lending_loan; ANALYZE lending_loanshare; ANALYZE lending_installment")
    t_book = time.monotonic() - started
    _settle_without_files(platform, W0, say)
    _warmup_payments(platform, W1, rng)
    _settle_without_files(platform, W1, say)
    _set_marker(n, _marker()[1])
    return {"loans": booked, "book_s": t_book, "total_s": time.monotonic() - started}


def _warmup_payments(platform: Partner, day: date, rng: random.Random) -> None:
    """W1's repayments file: guarantor payments on half the raised claims, arrears payments."""
    from lending.intake.services import partner_file_import

    claims = _fetch(
        """SELECT l.loan_no, c.amount FROM lending_claim c JOIN lending_loan l ON l.id = c.loan_id
            WHERE l.partner_id = %s AND c.status = 'RAISED' ORDER BY l.id""", [platform.pk])
    overdue = _fetch(
        """SELECT loan_no, principal_outstanding FROM lending_loan
            WHERE partner_id = %s AND state = 'OVERDUE' ORDER BY id""", [platform.pk])
    rows = []
    for k, (loan_no, amount) in enumerate(claims):
        if k % 2 == 0:
            rows.append((f"W1G{k:08d}", loan_no, day, amount, "GUARANTOR", "SCHEDULED"))
    for k, (loan_no, principal) in enumerate(overdue):
        if k % 5 == 0:
            amt = (principal * Decimal(rng.choice(["0.05", "0.1", "0.2"]))).quantize(CENT)
            rows.append((f"W1B{k:08d}", loan_no, day, amt, "BORROWER", "SCHEDULED"))
    # Only the repayments file: the warm-up days are settled without the intake gate, and an
    # empty balances file would be reconciled as "every loan missing at the partner" (a million
    # breaks that the first standard day would then have to clear).
    name, data, control = _build_file("repayments", day, rows)
    result = partner_file_import(name=name, data=io.BytesIO(data), control=control,
                                 channel="COMMAND", sent_by_label="bench warm-up").as_dict()
    if result["status"] != "ACCEPTED":
        raise RuntimeError(f"warm-up repayments file rejected: {result}")


# --- The standard day ---------------------------------------------------------------------------


@dataclass
class DayFiles:
    day: date
    files: dict[str, tuple[str, bytes, bytes]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    mix: dict[str, int] = field(default_factory=dict)
    sample: list[tuple[str, str, Decimal]] = field(default_factory=list)  # for the baseline


def next_day() -> date:
    last = _fetch(
        """SELECT max(r.business_date) FROM lending_settlementrun r
             JOIN partners_partner p ON p.id = r.partner_id
            WHERE p.code = %s AND r.state = 'DONE'""", [platform_code()])[0][0]
    from partners.calendar import next_business_day

    return next_business_day(last or W1)


def _build_file(kind: str, day: date, rows: list[tuple]) -> tuple[str, bytes, bytes]:
    from lending.intake.writer import partner_file_build

    return partner_file_build(partner=platform_code(), kind=kind, business_date=day, rows=rows)


def day_files(n: int, day: date, *, seed: int = 60, sample: int = 2000) -> DayFiles:
    """The partner's four files for `day`: 3 % of N repaying, 3 % new loans, all balances."""
    rng = random.Random(seed + day.toordinal())
    platform = Partner.objects.get(code=platform_code())
    p = platform.pk
    out = DayFiles(day)
    gen = _marker()[1]
    # Loans with an instalment falling due today and nothing in arrears.
    due = _fetch(
        """SELECT l.loan_no, i.principal_due - i.principal_paid + i.interest_due
                  - i.interest_paid, i.principal_due - i.principal_paid
             FROM lending_loan l
             JOIN lending_installment i ON i.loan_id = l.id AND i.seq = l.billed_seq + 1
            WHERE l.partner_id = %s AND l.state = 'ACTIVE' AND l.oldest_unpaid_due_on IS NULL
              AND l.overpaid_amount = 0 AND i.due_on = %s AND l.repayment_method <> 'DAILY'
            ORDER BY l.id""", [p, day])
    performing = _fetch(
        """SELECT l.loan_no, SUM(x.principal), SUM(x.interest + x.penalty + x.compound)
             FROM lending_share_positions(%s, %s) x JOIN lending_loan l ON l.id = x.loan_id
            WHERE x.loan_state = 'ACTIVE' AND l.oldest_unpaid_due_on IS NULL
              AND l.overpaid_amount = 0 AND (l.accrual_to IS NULL OR l.accrual_to > %s)
              AND l.id %% 97 = %s
            GROUP BY l.id, l.loan_no ORDER BY l.id""", [day, p, day, day.toordinal() % 97])
    overdue = _fetch(
        """SELECT loan_no, principal_outstanding FROM lending_loan
            WHERE partner_id = %s AND state = 'OVERDUE' ORDER BY id""", [p])
    claims = _fetch(
        """SELECT l.loan_no, c.amount FROM lending_claim c JOIN lending_loan l ON l.id = c.loan_id
            WHERE l.partner_id = %s AND c.status = 'RAISED' ORDER BY l.id""", [p])
    claimed = _fetch("SELECT loan_no FROM lending_loan WHERE partner_id = %s AND state = 'CLAIMED'"
                     " ORDER BY id", [p])
    written = _fetch("SELECT loan_no FROM lending_loan WHERE partner_id = %s"
                     " AND state = 'WRITTEN_OFF' ORDER BY id", [p])
    earlier = _fetch(
        """SELECT r.txn_no, r.amount FROM lending_stagedrepayment r
            WHERE r.partner_id = %s AND r.business_date = %s AND r.status = 'APPLIED'
              AND r.payer = 'BORROWER' ORDER BY r.row_no""", [p, day - timedelta(days=1)])

    target = max(1, round(n * 0.03))
    pays: list[tuple] = []
    mix: dict[str, int] = {}

    def pay(kind_label, loan_no, amount, payer="BORROWER", kind="SCHEDULED"):
        pays.append((f"T{day:%Y%m%d}{len(pays):08d}", loan_no, day, amount, payer, kind))
        mix[kind_label] = mix.get(kind_label, 0) + 1

    extras = [
        ("prepayment", max(1, n // 1000)), ("payoff", max(1, n // 2000)),
        ("arrears", max(1, n // 500)), ("guarantor_claim", max(1, n // 4000)),
        ("recovery_after_claim", max(1, n // 5000)), ("write_off_recovery", max(1, n // 10000)),
    ]
    for label, count in extras:
        if label == "prepayment":
            for loan_no, principal, _owed in rng.sample(performing, min(count, len(performing))):
                pay(label, loan_no, (principal * Decimal("0.3")).quantize(CENT),
                    kind="PREPAYMENT")
        elif label == "payoff":
            pool = [r for r in performing if r[0] not in {x[1] for x in pays}]
            for loan_no, principal, owed in rng.sample(pool, min(count, len(pool))):
                pay(label, loan_no, principal + owed, kind="PAYOFF")
        elif label == "arrears":
            for loan_no, principal in rng.sample(overdue, min(count, len(overdue))):
                pay(label, loan_no, (principal * Decimal(rng.choice(["0.05", "0.1", "0.5"])))
                    .quantize(CENT))
        elif label == "guarantor_claim":
            for loan_no, amount in rng.sample(claims, min(count, len(claims))):
                pay(label, loan_no, amount, payer="GUARANTOR")
        elif label == "recovery_after_claim":
            for (loan_no,) in rng.sample(claimed, min(count, len(claimed))):
                pay(label, loan_no, Decimal(rng.randrange(5000, 50000)) / 100)
        elif label == "write_off_recovery":
            for (loan_no,) in rng.sample(written, min(count, len(written))):
                pay(label, loan_no, Decimal(rng.randrange(5000, 50000)) / 100)
    balance_fix: dict[str, Decimal] = {}  # loan_no → principal paid today (full payers)
    for loan_no, owed, principal_due in due[:max(0, target - len(pays))]:
        x = rng.random()
        if x < 0.04:
            mix["missed"] = mix.get("missed", 0) + 1
        elif x < 0.08:
            pay("partial", loan_no, (owed / 2).quantize(CENT))
        elif x < 0.12:
            pay("overpayment", loan_no, owed + Decimal(rng.randrange(1000, 10000)) / 100)
        else:
            pay("scheduled", loan_no, owed)
            balance_fix[loan_no] = principal_due
            if len(out.sample) < sample:
                out.sample.append((pays[-1][0], loan_no, owed))
    reversals = []
    for txn_no, amount in rng.sample(earlier, min(max(1, n // 10000), len(earlier))):
        reversals.append((f"V{day:%Y%m%d}{len(reversals):07d}", txn_no, day, amount, "BOUNCED"))
    same_day = [r for r in pays if r[4] == "BORROWER" and r[5] == "SCHEDULED"]
    for r in rng.sample(same_day, min(max(1, n // 20000), len(same_day))):
        reversals.append((f"V{day:%Y%m%d}{len(reversals):07d}", r[0], day, r[3], "BOUNCED"))
        balance_fix.pop(r[1], None)
    mix["reversal"] = len(reversals)

    new_loans = []
    for k in range(max(1, round(n * 0.03))):
        spec = PROGRAMS[rng.choice((0, 0, 1, 2))]
        method = rng.choice(spec.methods)
        term = 0 if method == "DAILY" else rng.choice(spec.terms)
        loan_no = f"N{day:%Y%m%d}{k:07d}"
        principal = (Decimal(rng.randrange(spec.principals[0] * 100, spec.principals[1] * 100))
                     / 100).quantize(CENT)
        new_loans.append((loan_no, program_code(spec.code, gen), f"U{rng.randrange(10**7):07d}", principal,
                          rng.choice(spec.rates), term, method, day, "", f"BA-{loan_no}"))
    out.files["loans"] = _build_file("loans", day, new_loans)
    out.files["repayments"] = _build_file("repayments", day, pays)
    out.files["reversals"] = _build_file("reversals", day, reversals)
    out.files["balances"] = _balances_file(p, day, balance_fix, new_loans)
    out.rows = {"loans": len(new_loans), "repayments": len(pays), "reversals": len(reversals),
                "balances": out.files["balances"][3] if len(out.files["balances"]) > 3 else 0}
    out.files["balances"] = out.files["balances"][:3]
    out.mix = mix
    return out


def _balances_file(partner_id: int, day: date, principal_paid: dict[str, Decimal],
                   new_loans: list[tuple]):
    """The partner's view of every open loan (as our positions for the day, with today's full
    scheduled payments taken off), streamed by COPY TO: the file is built in the database."""
    from lending.intake.writer import HEADERS, file_name

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_paid; CREATE TEMP TABLE bench_paid"
                    " (loan_no varchar(64) PRIMARY KEY, principal numeric)")
    from lending.settlement.copyio import copy_rows

    copy_rows("bench_paid", ("loan_no", "principal"), principal_paid.items())
    select = f"""
        SELECT l.loan_no, '{day.isoformat()}'::date AS as_of,
               SUM(x.principal) - COALESCE(MAX(b.principal), 0),
               CASE WHEN MAX(b.principal) IS NULL THEN SUM(x.interest) ELSE 0 END,
               SUM(x.penalty + x.compound),
               CASE WHEN l.oldest_unpaid_due_on IS NULL THEN 0
                    ELSE GREATEST('{day.isoformat()}'::date - l.oldest_unpaid_due_on, 0) END,
               CASE WHEN l.state = 'CLAIMED' THEN 'CLAIMED'
                    WHEN l.oldest_unpaid_due_on < '{day.isoformat()}'::date THEN 'OVERDUE'
                    ELSE 'ACTIVE' END
          FROM lending_share_positions('{day.isoformat()}'::date, {int(partner_id)}) x
          JOIN lending_loan l ON l.id = x.loan_id
          LEFT JOIN bench_paid b ON b.loan_no = l.loan_no
         WHERE l.state IN ('ACTIVE', 'OVERDUE', 'CLAIMED')
         GROUP BY l.id, l.loan_no, l.oldest_unpaid_due_on, l.state
         ORDER BY l.id"""
    buf = io.BytesIO()
    buf.write((",".join(HEADERS["balances"]) + "\n").encode())
    connection.ensure_connection()
    with connection.connection.cursor() as cur, cur.copy(
            f"COPY ({select}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buf.write(chunk)
    extra = io.StringIO()
    w = csv.writer(extra, lineterminator="\n")
    for r in new_loans:
        w.writerow([r[0], day.isoformat(), r[3], "0.00", "0.00", 0, "ACTIVE"])
    buf.write(extra.getvalue().encode())
    data = buf.getvalue()
    (rows, total) = _fetch(
        "SELECT count(*), COALESCE(SUM(p), 0) FROM (SELECT SUM(x.principal)"
        " - COALESCE(MAX(b.principal), 0) AS p FROM lending_share_positions(%s, %s) x"
        " JOIN lending_loan l ON l.id = x.loan_id LEFT JOIN bench_paid b"
        " ON b.loan_no = l.loan_no WHERE l.state IN ('ACTIVE', 'OVERDUE', 'CLAIMED')"
        " GROUP BY l.id) t", [day, partner_id])[0]
    rows += len(new_loans)
    total += sum((r[3] for r in new_loans), Decimal("0.00"))
    control = json.dumps({
        "partner": platform_code(), "kind": "balances", "business_date": day.isoformat(),
        "rows": rows, "amount_total": str(total), "sha256": hashlib.sha256(data).hexdigest(),
    }).encode()
    return file_name(platform_code(), "balances", day), data, control, rows


@dataclass
class BaselineSamples:
    """The per-event yardstick's samples of the day's other kinds (benchmarks.yardstick;
    the repayments' are DayFiles.sample), read once the day's files are staged and before the
    run, on the books as they stand before the day. Each is spread evenly over its kind."""

    loans: list[int]  # staged loan ids (the loans file)
    accruals: list[int]  # ids of open loans (accrued and aged by the day)
    balances: list[int]  # staged balance ids (the balances file)
    open_loans: int  # the loans the day accrues and ages: the portfolio's open loans


def _spread(ids: list[int], n: int) -> list[int]:
    """n of the ids, evenly spaced over them (all of them when there are no more than n)."""
    if len(ids) <= n:
        return ids
    return [ids[k * len(ids) // n] for k in range(n)]


def baseline_samples(day: date, *, sample: int = 2000) -> BaselineSamples:
    """The samples of new loans, accruals and balances rows for the yardstick of `day`."""
    p = Partner.objects.get(code=platform_code()).pk
    open_ids = [r[0] for r in _fetch(
        "SELECT id FROM lending_loan WHERE partner_id = %s"
        " AND state IN ('ACTIVE', 'OVERDUE', 'CLAIMED') ORDER BY id", [p])]
    staged = [r[0] for r in _fetch(
        "SELECT id FROM lending_stagedloan WHERE partner_id = %s AND business_date = %s"
        " AND status = 'STAGED' ORDER BY row_no", [p, day])]
    balances = [r[0] for r in _fetch(
        "SELECT id FROM lending_stagedbalance WHERE partner_id = %s AND business_date = %s"
        " AND status <> 'QUARANTINED' ORDER BY row_no", [p, day])]
    return BaselineSamples(loans=_spread(staged, sample), accruals=_spread(open_ids, sample),
                           balances=_spread(balances, sample), open_loans=len(open_ids))


def deliver(files: DayFiles) -> dict:
    """Import the day's four files through the real intake."""
    from lending.intake.services import partner_file_import

    out = {}
    for kind in ("loans", "repayments", "reversals", "balances"):
        name, data, control = files.files[kind]
        started = time.monotonic()
        result = partner_file_import(name=name, data=io.BytesIO(data), control=control,
                                     channel="COMMAND", sent_by_label="bench")
        out[kind] = result.as_dict() | {"seconds": time.monotonic() - started}
        if out[kind]["status"] != "ACCEPTED":
            raise RuntimeError(f"bench {kind} file not accepted: {out[kind]}")
    return out


def loans_exist() -> bool:
    return Loan.objects.filter(partner__code=platform_code()).exists()
