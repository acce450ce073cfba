"""Issue 19, acceptance 2 ("files delivered in random order and at random times, some a day
late"): what a row refers to in another file is checked by the run, so the order in which a
day's files (and a late file of the day before) arrive changes nothing.

Intake used to check a repayment's loan, a reversal's repayment and the loan's disbursement
date against the files received so far: a balances or repayments file that came before the
same day's loans file had its new loans' rows quarantined UNKNOWN_LOAN (38 files in the
operations simulation), a reversals file that came before the late repayments file of the day
before NOT_REVERSIBLE, and once accepted a file cannot be corrected. Now those checks are the
run's first step (lending.settlement.references): the same rows are quarantined, with the same
codes, at stage APPLY, whatever the order.

Platform OPA (tests/factories/operations.py) over three business days, Friday 2026-11-06,
Monday 11-09 and Tuesday 11-10, with rows that refer to other files: on Monday a payment of
a loan in Monday's loans file, one dated the Saturday before that loan's disbursement, one for
a loan nobody has, and a balances row of that unknown loan; on Tuesday a reversal of Monday's
payment, one of a payment nobody made and one of the unknown loan's payment. The same bytes are
delivered in three orders; each gives the same staged and quarantined rows, breaks and books.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from django.db import transaction

from ledger import checks
from lending.models import StagedBalance, StagedLoan, StagedRepayment, StagedReversal
from lending.reconciliation.models import Break
from lending.settlement import posting, runner
from lending.settlement.models import RunState
from partners.models import InboundFile, Partner, QuarantinedRow
from tests.factories import operations as ops

pytestmark = pytest.mark.django_db

CODE = "OPA"
FRI, MON, TUE = date(2026, 11, 6), date(2026, 11, 9), date(2026, 11, 10)
SAT = date(2026, 11, 7)

# (day, kind) deliveries and ("settle", day), in three orders
IN_ORDER = [*((FRI, k) for k in ops.KINDS), ("settle", FRI),
            *((MON, k) for k in ops.KINDS), ("settle", MON),
            *((TUE, k) for k in ops.KINDS), ("settle", TUE)]
# balances and repayments before the day's loans; Tuesday's reversals before Monday's
# (late) repayments file; Monday settled only when its last file is in
LATE = [*((FRI, k) for k in ops.KINDS), ("settle", FRI),
        (MON, "balances"), (TUE, "reversals"), (MON, "reversals"), (MON, "repayments"),
        (TUE, "balances"), (MON, "loans"), ("settle", MON),
        (TUE, "repayments"), (TUE, "loans"), ("settle", TUE)]
# every file of Monday and Tuesday in before either is settled, Tuesday's first, each day's
# kinds backwards
BACKWARDS = [*((FRI, k) for k in ops.KINDS), ("settle", FRI),
             *((TUE, k) for k in reversed(ops.KINDS)),
             *((MON, k) for k in reversed(ops.KINDS)), ("settle", MON), ("settle", TUE)]


def _rows(day: date) -> dict[str, list[tuple]]:
    """The platform's files of `day` from the books as they stand, and the rows referring to
    other files."""
    rows = ops.day_files(CODE, day, random.Random(f"references:{day}"))
    if day == MON:
        if not rows["loans"]:
            rows["loans"] = ops._loans(CODE, day, random.Random("loans"), 2)
            rows["balances"] += [(r[0], day, r[3], "0.00", "0.00", 0, "ACTIVE")
                                 for r in rows["loans"]]
        new = rows["loans"][0][0]
        rows["repayments"] += [
            ("XNEW", new, day, "100.00", "BORROWER", "PREPAYMENT"),  # a loan of the same day
            ("XEARLY", new, SAT, "10.00", "BORROWER", "PREPAYMENT"),  # before its disbursement
            ("XNOPE", "NOPE", day, "5.00", "BORROWER", "SCHEDULED"),  # nobody's loan
        ]
        rows["balances"] += [("NOPE", day, "500.00", "0.00", "0.00", 0, "ACTIVE")]
    if day == TUE:
        rows["reversals"] += [
            ("VXNEW", "XNEW", day, "100.00", "card payment reversed"),  # Monday's payment
            ("VXNONE", "XNONE", day, "1.00", ""),  # a payment nobody made
            ("VXNOPE", "XNOPE", day, "5.00", ""),  # a payment the run quarantined
        ]
    return rows


def _settle(day: date) -> None:
    run = runner.settlement_run(partner=Partner.objects.get(code=CODE), business_date=day)
    assert (run.state, run.error) == (RunState.DONE, ""), run.totals.get("check_problems")


def _files() -> dict[date, dict[str, tuple]]:
    """The bytes of the three days, written from the books of a run in order (rolled back)."""
    out = {}
    with transaction.atomic():
        ops.world_setup()
        for day in (FRI, MON, TUE):
            out[day] = ops.build(CODE, day, _rows(day))
            for kind in ops.KINDS:
                assert ops.deliver(*out[day][kind])["status"] == "ACCEPTED"
            _settle(day)
        transaction.set_rollback(True)
    return out


def _outcome() -> dict:
    """Everything the order could change: each file's answer, every quarantined row, every
    staged row's status, the breaks, each day's fingerprint."""
    staged = {}
    for model, key in ((StagedLoan, "loan_no"), (StagedRepayment, "txn_no"),
                       (StagedReversal, "txn_no"), (StagedBalance, "loan_no")):
        staged[model.__name__] = sorted(model.objects.values_list(
            "business_date", "row_no", key, "status"))
    return {
        "files": sorted(InboundFile.objects.filter(status="ACCEPTED").values_list(
            "name", "rows", "staged_count", "quarantined_count", "reasons")),
        "quarantined": sorted(QuarantinedRow.objects.values_list(
            "file__name", "row_no", "stage", "reason", "column", "message", "raw", "amount")),
        "staged": staged,
        "breaks": sorted(Break.objects.values_list(
            "business_date", "last_seen_on", "loan_no", "kind", "field", "ours", "theirs",
            "status")),
        "prints": {day: posting.fingerprint(day, CODE) for day in (FRI, MON, TUE)},
    }


def _deliver_in(order: list[tuple], files: dict[date, dict[str, tuple]]) -> dict:
    with transaction.atomic():
        ops.world_setup()
        for what, arg in order:
            if what == "settle":
                _settle(arg)
            else:
                answer = ops.deliver(*files[what][arg])
                assert answer["status"] == "ACCEPTED", answer
        assert checks.run_checks() == []
        outcome = _outcome()
        transaction.set_rollback(True)
    return outcome


def test_every_arrival_order_gives_the_same_rows_breaks_and_books():
    files = _files()
    outcomes = {name: _deliver_in(order, files) for name, order in
                (("in order", IN_ORDER), ("late", LATE), ("backwards", BACKWARDS))}
    first = outcomes["in order"]
    for name, outcome in outcomes.items():
        for part, value in outcome.items():
            assert value == first[part], (name, part)

    # the rows referring to other files: quarantined by the run, with the intake's codes
    mon, tue = (f"{CODE}_repayments_{MON:%Y%m%d}.csv", f"{CODE}_reversals_{TUE:%Y%m%d}.csv")
    quarantined = {(q[0], q[6]): (q[2], q[3], q[4], q[5], q[7]) for q in first["quarantined"]}
    assert {k: v for k, v in quarantined.items() if k[0] in (mon, tue)} == {
        (mon, f"XEARLY,{files_loan(files)},2026-11-07,10.00,BORROWER,PREPAYMENT"): (
            "APPLY", "BAD_DATE", "paid_on",
            f"paid_on 2026-11-07 is before the loan's disbursement on {MON}", 10),
        (mon, "XNOPE,NOPE,2026-11-09,5.00,BORROWER,SCHEDULED"): (
            "APPLY", "UNKNOWN_LOAN", "loan_no", "no loan of this partner numbered 'NOPE'", 5),
        (tue, "VXNONE,XNONE,2026-11-10,1.00,"): (
            "APPLY", "NOT_REVERSIBLE", "reverses_txn_no",
            "no accepted repayment of this partner numbered 'XNONE'", 1),
        (tue, "VXNOPE,XNOPE,2026-11-10,5.00,"): (
            "APPLY", "NOT_REVERSIBLE", "reverses_txn_no",
            "no accepted repayment of this partner numbered 'XNOPE'", 5),
    }
    # nothing of the kind at intake; the payment of the same day's loan and its reversal by
    # the next day's file are applied
    assert not any(q[2] == "INTAKE" and q[3] in ("UNKNOWN_LOAN", "NOT_REVERSIBLE", "BAD_DATE")
                   for q in first["quarantined"])
    status = {(kind, key): s for kind, rows in first["staged"].items() for _d, _n, key, s in rows}
    assert status[("StagedRepayment", "XNEW")] == "APPLIED"
    assert status[("StagedReversal", "VXNEW")] == "APPLIED"
    # the balances of the day's new loans: no break in any order; the unknown loan: a
    # MISSING_AT_BANK break of the reconciliation (not a quarantined row)
    assert not any(q[0].startswith(f"{CODE}_balances") for q in first["quarantined"])
    new_loans = {r[2] for r in first["staged"]["StagedLoan"] if r[0] == MON}
    missing = [b for b in first["breaks"] if b[3] == "MISSING_AT_BANK"]
    # (opened on Monday; Tuesday's balances no longer list the loan: cleared)
    assert [(b[0], b[2], b[6], b[7]) for b in missing] == [(MON, "NOPE", "500.00",
                                                            "AUTO_CLEARED")]
    assert new_loans and not any(b[2] in new_loans and b[3] == "MISSING_AT_BANK"
                                 for b in first["breaks"])
    # (the loan paid on its first day differs from the balances written before the payment)
    assert not any(b[2] in new_loans - {files_loan(files)} and b[0] == MON
                   for b in first["breaks"])


def files_loan(files: dict[date, dict[str, tuple]]) -> str:
    """Monday's first new loan (the one paid the same day)."""
    text = files[MON]["loans"][1].decode().splitlines()
    return text[1].split(",")[0]


def test_a_payment_dated_on_a_day_settled_after_it_came_is_not_applied():
    """Intake checks a row's date against the days settled when its file comes; the run
    checks it again against the days settled before it (more, when the file came early)."""
    with transaction.atomic():
        ops.world_setup()
        empty = {kind: [] for kind in ops.KINDS}
        for kind in ops.KINDS:
            ops.deliver(*ops.build(CODE, FRI, empty)[kind])
        _settle(FRI)
        mon = dict(empty, loans=ops._loans(CODE, MON, random.Random("one"), 1))
        for kind in ops.KINDS:
            ops.deliver(*ops.build(CODE, MON, mon)[kind])
        loan = mon["loans"][0][0]
        tue = dict(empty, repayments=[("T1", loan, MON, "10.00", "BORROWER", "PREPAYMENT"),
                                      ("T2", loan, TUE, "10.00", "BORROWER", "PREPAYMENT")])
        answer = ops.deliver(*ops.build(CODE, TUE, tue)["repayments"])
        assert (answer["status"], answer["quarantined"]) == ("ACCEPTED", 0)  # Monday: open
        for kind in ("loans", "reversals", "balances"):
            ops.deliver(*ops.build(CODE, TUE, tue)[kind])
        _settle(MON)
        _settle(TUE)
        q = QuarantinedRow.objects.get(reason="BAD_DATE")
        assert (q.row_no, q.stage, q.column, q.message) == (
            1, "APPLY", "paid_on",
            "paid_on 2026-11-09 is on or before the last settled business date 2026-11-09")
        assert dict(StagedRepayment.objects.values_list("txn_no", "status")) == {
            "T1": "QUARANTINED", "T2": "APPLIED"}
        assert checks.run_checks() == []
        transaction.set_rollback(True)
