"""The standard day of the settlement benchmark: the next business date's four partner files,
the per-event yardstick's samples, the delivery through the real intake."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from benchmarks.settlement.portfolio import (
    CENT,
    PROGRAMS,
    W1,
    _build_file,
    _fetch,
    _marker,
    platform_code,
    program_code,
)
from lending.models import Loan
from partners.models import Partner


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
    from lending.copyio import copy_rows

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
