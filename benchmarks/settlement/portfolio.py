"""The scratch portfolio of the settlement benchmark: built once, kept between runs, wiped
with --fresh (see benchmarks.settlement)."""

from __future__ import annotations

import io
import random
import resource
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from benchmarks.database import bench_database_confirm
from benchmarks.models import BenchPortfolio
from controls.roles import APPROVER
from lending import services
from lending.models import Agreement, Program
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

# The portfolio's state is a BenchPortfolio row (benchmarks.models): its platform, generation,
# size and last day. Posted ledger lines are append-only, so a rebuilt portfolio must not reuse
# the program dimensions of the one before: each generation has its own program codes
# (BCASHG2, ...).


def _portfolio() -> BenchPortfolio | None:
    """The current (not retired) generation, if any."""
    return BenchPortfolio.objects.select_related("partner").filter(retired_at=None).first()


def _current() -> Partner | None:
    portfolio = _portfolio()
    return portfolio.partner if portfolio is not None else None


def platform_code() -> str:
    """The current scratch platform's code, or the code of the next generation's."""
    p = _current()
    if p is not None:
        return p.code
    last = BenchPortfolio.objects.aggregate(g=Max("generation"))["g"] or 0
    return f"{PLATFORM_PREFIX}{last + 1}"


def _marker() -> tuple[int | None, int]:
    """(N of the current portfolio or None while unbuilt, its generation); (None, 0): none."""
    portfolio = _portfolio()
    if portfolio is None:
        return None, 0
    return portfolio.loans, portfolio.generation


def portfolio_marker() -> int | None:
    """N of the kept portfolio (None: none, or its build did not finish)."""
    return _marker()[0]


def portfolio_day_record(day: date) -> None:
    """The benchmark settled ``day`` on the current portfolio."""
    BenchPortfolio.objects.filter(retired_at=None).update(last_day=day)


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
    ("lending_loansnapshot", _LOANS),
    ("lending_installment", _LOANS),
    ("lending_loanshare", _LOANS),
    ("lending_loan", "partner_id = %(p)s"),
)


def portfolio_exists() -> bool:
    """Whether there is a bench portfolio (built or part-built) that a rebuild must wipe."""
    return _current() is not None


def portfolio_wipe(*, database_name: str | None, say=print) -> None:
    """Delete the scratch portfolio (loans, runs, files, statements, breaks — not the ledger,
    which is append-only) and retire its programs; the next build is a new generation. Must
    run outside a transaction: the emptied tables are vacuumed after the delete commits.

    Refuses (benchmarks.database.WipeRefused) unless ``database_name``, or else
    $BENCH_DATABASE, is the name of the connected database."""
    bench_database_confirm(database_name)
    p = _current()
    if p is None:
        return
    started = time.monotonic()
    _n, gen = _marker()
    params = {"p": p.pk}
    with transaction.atomic():
        # Alerts (a limit breach is raised for the bank) outlive their run, as the model's
        # on_delete=SET_NULL says: the raw DELETE below must clear the reference itself.
        _exec(f"UPDATE lending_alert SET run_id = NULL WHERE {_RUNS}", params)
        for table, where in _WIPE:
            _exec(f"DELETE FROM {table} WHERE {where}", params)
        _exec("UPDATE lending_program SET active = false WHERE partner_id = %(p)s", params)
        # Quarantined rows, the file registry and the ledger are append-only, and the staged
        # rows account for the files' rows (lending.file_rows_accounted): they all stay with
        # the retired platform (the next build creates BENCHP<gen + 1>).
        BenchPortfolio.objects.filter(partner=p).update(retired_at=timezone.now())
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
    checker = _user("bench-checker")
    checker.groups.add(Group.objects.get(name=APPROVER))  # four eyes: the approver role
    services.agreement_version_approve(version=version, approved_by=checker)
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
    portfolio = _portfolio()
    if portfolio is None:  # a new generation: new program codes (new ledger dimensions)
        portfolio = BenchPortfolio.objects.create(partner=platform,
                                                  generation=int(code[len(PLATFORM_PREFIX):]))
    gen = portfolio.generation
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
    # At most 4 loans per borrower (max principal 30,000 each): the portfolio stays within the
    # per-borrower limit (R4, 200,000) that booking enforces.
    tokens = [services.borrower_token(partner_code=platform_code(), borrower_ref=f"U{i:07d}")
              for i in range(max(5000, n // 4))]
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
    BenchPortfolio.objects.filter(retired_at=None).update(loans=n, built_at=timezone.now(),
                                                          last_day=W1)
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


def _build_file(kind: str, day: date, rows: list[tuple]) -> tuple[str, bytes, bytes]:
    from lending.intake.writer import partner_file_build

    return partner_file_build(partner=platform_code(), kind=kind, business_date=day, rows=rows)
