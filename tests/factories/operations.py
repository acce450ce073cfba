"""The operations simulation's world (issue 19, acceptance 2): three platforms, a guarantor, a
small portfolio and each business day's four files, written as a platform would from what the
bank's books say (like the demo's writer, but small, with early first due dates so that loans
pay within a few weeks, and with payments made on a weekend or a holiday dated that day and sent
in the next business day's file).

Also a hold for real workers, loaded only by the simulation's workers
(CELERY_IMPORTS=tests.factories.operations): when the test puts a file `arm-<STEP>` (BOOK or
APPLY) in the directory named by OPS_HOLD_DIR, the first worker to reach the done mark of a
chunk of that step (its work done, not yet committed) takes the file (renames it `held-<pid>-<run>-<STEP>-<seq>`) and stops there — the
chunk's transaction open — until the test kills it (SIGKILL). Nothing is killed here: the test
chooses the victim and kills it from outside, as an operator's `kill -9` or an OOM kill would.
"""

from __future__ import annotations

import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from celery.signals import task_postrun, task_prerun

PLATFORMS = ("OPA", "OPB", "OPC")
GUARANTOR = "OPG"
KINDS = ("loans", "repayments", "reversals", "balances")

# (platform, bank ratio, agreement terms, program code, methods, rates, terms in months)
_SPECS = (
    ("OPA", "0.70", {}, "CASH", ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "DAILY"),
     ("0.12", "0.18"), (3, 6)),
    ("OPB", "0.60", {"penalty_split_rule": "PLATFORM"}, "SHOP",
     ("EQUAL_INSTALLMENT", "INTEREST_FIRST"), ("0.15", "0.24"), (3, 6, 12)),
    ("OPC", "0.70", {"bank_rate": Decimal("0.08"), "interest_split_rule": "BANK_FIXED_YIELD"},
     "FLEX", ("EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "DAILY"), ("0.18", "0.216"), (3, 6)),
)


def calendar_reload() -> None:
    """The bank's 2026 calendar as its data migration loads it (a flush removed it)."""
    import importlib

    from django.apps import apps

    importlib.import_module("partners.migrations.0006_china_2026_holidays").load(apps, None)


def world_setup(guaranteed: tuple[str, ...] = PLATFORMS) -> None:
    """Chart of accounts, calendar, the bank, three platforms with one program each under
    their own agreement (pro rata 70/30; 60/40 with penalties to the platform; 70/30 with a
    fixed bank yield), one licensed guarantor behind the `guaranteed` platforms' agreements,
    claims raised at DPD 8."""
    from ledger.services import chart_of_accounts_load
    from tests.factories import lending as f

    chart_of_accounts_load()
    calendar_reload()
    f.bank()
    guarantor = f.partner(GUARANTOR, kind="GUARANTOR")
    for code, ratio, terms, program, methods, _rates, _terms in _SPECS:
        platform = f.partner(code)
        version = f.active_agreement(code=f"AG-{code}", platform=platform,
                                     guarantor=guarantor if code in guaranteed else None,
                                     bank_ratio=Decimal(ratio), **terms)
        f.program(code=program, version=version, repayment_methods=list(methods),
                  min_annual_rate=Decimal("0.10"), max_annual_rate=Decimal("0.24"),
                  max_principal=Decimal("50000"), max_term_months=24,
                  claim_trigger_dpd=8, write_off_dpd=None)


def _loans(code: str, day: date, rng: random.Random, n: int) -> list[tuple]:
    spec = next(s for s in _SPECS if s[0] == code)
    rows = []
    for i in range(n):
        method = rng.choice(spec[4])
        term = 0 if method == "DAILY" else rng.choice(spec[6])
        principal = Decimal(rng.randrange(100_000, 2_000_000)) / 100
        # half of them with an early first due date (a week or two): they pay within the weeks
        # simulated; the others a month after disbursement (the default)
        first_due = "" if method == "DAILY" or rng.random() < 0.5 else \
            (day + timedelta(days=rng.randint(5, 14))).isoformat()
        loan_no = f"{code}{day:%m%d}{i:02d}"
        rows.append((loan_no, spec[3], f"U{rng.randrange(10**8):08d}", f"{principal:.2f}",
                     rng.choice(spec[5]), term, method, day.isoformat(), first_due,
                     f"APR-{loan_no}"))
    return rows


# Instalments falling due since the previous business day: a payment on the due date, which is
# a weekend or holiday when the previous business day is further back (sent in this file).
_DUE = """
SELECT l.loan_no, l.id, i.due_on, i.principal_due - i.principal_paid,
       i.interest_due - i.interest_paid
  FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id
 WHERE l.partner_id = %s AND i.due_on > %s AND i.due_on <= %s
   AND l.state IN ('ACTIVE', 'OVERDUE') AND i.status <> 'PAID'
 ORDER BY l.id, i.seq"""

_OVERDUE = """
SELECT l.loan_no, SUM(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid)
  FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id
 WHERE l.partner_id = %s AND l.state = 'OVERDUE' AND i.due_on <= %s AND i.status <> 'PAID'
 GROUP BY l.loan_no, l.id ORDER BY l.id"""


def day_files(code: str, day: date, rng: random.Random) -> dict[str, list[tuple]]:
    """What platform `code` sends for business day `day`, from the bank's books as settled up
    to the previous business day: new loans (most days), repayments (on time, late, partial,
    overpaid, with a prepayment, a daily loan's repayment, the guarantor's claim payment), now
    and then a reversal of the previous day's payment, and the balances of every open loan."""
    from django.db import connection

    from partners.calendar import previous_business_day
    from partners.models import Partner

    partner = Partner.objects.get(code=code)
    before = previous_business_day(day)
    loans = _loans(code, day, rng, rng.choice((0, 2, 3, 3, 4, 5)))
    repayments: list[tuple] = []
    on_time: dict[int, tuple[Decimal, Decimal]] = {}
    seq = 0

    def txn() -> str:
        nonlocal seq
        seq += 1
        return f"{code}T{day:%m%d}{seq:03d}"

    with connection.cursor() as cur:
        cur.execute(_DUE, [partner.pk, before, day])
        paying: set[int] = set()
        for loan_no, lid, due_on, principal, interest in cur.fetchall():
            if lid in paying:
                continue  # one payment per loan and file
            due, roll = principal + interest, rng.random()
            row = None
            if roll < 0.62:
                row = (due, "SCHEDULED")
                on_time[lid] = (principal, interest)
            elif roll < 0.70:
                row = (due + Decimal("50"), "SCHEDULED")  # overpaid: the excess to suspense
            elif roll < 0.78:
                row = ((due / 2).quantize(Decimal("0.01")), "SCHEDULED")  # partial
            elif roll < 0.86:
                row = (due + Decimal("300"), "PREPAYMENT")  # with a prepayment of principal
            if row is not None:  # else: late (overdue tomorrow, a claim at DPD 8)
                paying.add(lid)
                repayments.append((txn(), loan_no, due_on, f"{row[0]:.2f}", "BORROWER",
                                   row[1]))
        cur.execute(_OVERDUE, [partner.pk, before])
        for loan_no, owed in cur.fetchall():
            if rng.random() < 0.3:  # a late payer catches up (the penalty may stay open)
                repayments.append((txn(), loan_no, day, f"{owed:.2f}", "BORROWER",
                                   "SCHEDULED"))
        cur.execute(
            """SELECT l.loan_no, c.amount FROM lending_claim c JOIN lending_loan l
                 ON l.id = c.loan_id
                WHERE l.partner_id = %s AND c.status = 'RAISED' AND c.raised_on <= %s
                ORDER BY l.id""", [partner.pk, before])
        for loan_no, amount in cur.fetchall():  # 代偿: the guarantor pays the raised claim
            repayments.append((txn(), loan_no, day, f"{amount:.2f}", "GUARANTOR", "SCHEDULED"))
        cur.execute(
            """SELECT loan_no FROM lending_loan WHERE partner_id = %s AND disbursed_on <= %s
                AND repayment_method = 'DAILY' AND state = 'ACTIVE' ORDER BY id""",
            [partner.pk, before])
        for (loan_no,) in cur.fetchall():
            if rng.random() < 0.2:  # 随借随还: part of a daily loan repaid whenever
                repayments.append((txn(), loan_no, day, "200.00", "BORROWER", "PREPAYMENT"))
        cur.execute(
            """SELECT txn_no, amount FROM lending_stagedrepayment
                WHERE partner_id = %s AND business_date = %s AND status = 'APPLIED'
                  AND payer = 'BORROWER' ORDER BY txn_no""", [partner.pk, before])
        reversals = [(f"V{txn_no}", txn_no, day, f"{amount:.2f}", "冲正 card payment reversed")
                     for txn_no, amount in cur.fetchall() if rng.random() < 0.08][:1]
        cur.execute(
            """SELECT l.loan_no, l.id, SUM(x.principal), SUM(x.interest),
                      SUM(x.penalty + x.compound), l.oldest_unpaid_due_on, l.state
                 FROM lending_share_positions(%s, %s) x JOIN lending_loan l ON l.id = x.loan_id
                WHERE l.state IN ('ACTIVE', 'OVERDUE', 'CLAIMED')
                GROUP BY l.loan_no, l.id ORDER BY l.id""", [day, partner.pk])
        balances = []
        for loan_no, lid, principal, interest, penalty, oldest, state in cur.fetchall():
            dpd = max((day - oldest).days, 0) if oldest else 0
            if lid in on_time:  # the platform already counts today's on-time payment
                principal -= on_time[lid][0]
                interest -= on_time[lid][1]
                dpd = 0
            status = "CLAIMED" if state == "CLAIMED" else ("OVERDUE" if dpd else "ACTIVE")
            balances.append((loan_no, day, f"{principal:.2f}", f"{interest:.2f}",
                             f"{penalty:.2f}", dpd, status))
    balances += [(r[0], day, r[3], "0.00", "0.00", 0, "ACTIVE") for r in loans]
    return {"loans": loans, "repayments": repayments, "reversals": reversals,
            "balances": balances}


def build(code: str, day: date, rows: dict[str, list[tuple]]) -> dict[str, tuple]:
    """kind -> (name, data, control): the bytes the platform sends."""
    from lending.intake.writer import partner_file_build

    return {kind: partner_file_build(partner=code, kind=kind, business_date=day,
                                     rows=rows[kind]) for kind in KINDS}


def deliver(name: str, data: bytes, control: bytes) -> dict:
    """One file through intake, as the partner's upload would; the contract's JSON answer."""
    import io

    from lending.intake.services import partner_file_import

    return partner_file_import(name=name, data=io.BytesIO(data), control=control,
                               channel="COMMAND", sent_by_label="ops-simulation").as_dict()


def changed(rows: list[tuple]) -> list[tuple]:
    """The same repayments with the first one's amount changed by a cent (a resend with
    changes)."""
    first = list(rows[0])
    first[3] = f"{Decimal(first[3]) + Decimal('0.01'):.2f}"
    return [tuple(first), *rows[1:]]


# --- The hold (workers only) -------------------------------------------------------------------

HOLD_DIR = "OPS_HOLD_DIR"
HOLD_MAX_SECONDS = 90  # a worker nobody kills goes on after this (the test then fails)
_CHUNK_TASKS = {"lending.settlement_book": "BOOK", "lending.settlement_apply_chunk": "APPLY"}
_current: dict = {}


def _hold_at_done_mark(execute, sql, params, many, context):
    where = os.environ.get(HOLD_DIR)
    if where and _current and sql.startswith('UPDATE "lending_runchunk" SET "done_at"'):
        held = os.path.join(where, "held-{}-{run}-{step}-{seq}".format(os.getpid(), **_current))
        try:
            os.rename(os.path.join(where, f"arm-{_current['step']}"), held)
        except FileNotFoundError:
            pass  # not armed, or another worker took it
        else:
            deadline = time.monotonic() + HOLD_MAX_SECONDS
            while time.monotonic() < deadline:  # the chunk's transaction stays open
                time.sleep(0.05)
    return execute(sql, params, many, context)


@task_prerun.connect
def _chunk_started(sender=None, kwargs=None, **_):
    _current.clear()
    step = _CHUNK_TASKS.get(getattr(sender, "name", ""))
    if step is None or not os.environ.get(HOLD_DIR):
        return
    from django.db import connection

    _current.update(run=(kwargs or {}).get("run_id"), step=step, seq=(kwargs or {}).get("seq"))
    if _hold_at_done_mark not in connection.execute_wrappers:
        connection.execute_wrappers.append(_hold_at_done_mark)


@task_postrun.connect
def _chunk_ended(**_):
    _current.clear()
