"""The fast path (one regex per line proves the format checks, lending.intake.checks.kinds)
must give exactly the result of the full checks: same staged rows, same quarantine records."""

from datetime import date

import pytest
from django.db import transaction
from intake_factories import (
    HEADERS,
    assert_balanced,
    build_file,
    import_bytes,
    make_loan,
    run_references,
)

from lending.intake import streaming
from lending.intake.checks import kinds
from lending.models import StagedRepayment, StagedReversal
from partners.models import QuarantinedRow

D1 = date(2026, 11, 30)
REP_HEADER = HEADERS["repayments"] + ["reported_principal", "reported_fee"]


@pytest.fixture
def world(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")
    make_loan(partner, program, version, "L2", state="PAID_OFF")
    return alpha


def rep(txn, loan_no="L1", paid_on="2026-11-30", amount="100.00", payer="BORROWER",
        kind="SCHEDULED", principal="", fee=""):
    return [txn, loan_no, paid_on, amount, payer, kind, principal, fee]


TRICKY = [
    rep("T1", principal="60.00", fee="0"),       # good, optional amounts present
    rep("T2", amount="0.00"),                    # matches the fast pattern, not > 0
    rep("T3", paid_on="2026-02-30"),             # matches the fast pattern, not a date
    rep("T4", paid_on="20261201"),               # FUTURE_DATE
    rep("T5", loan_no="LX"),                     # UNKNOWN_LOAN (at the run)
    rep("T6", loan_no="L2"),                     # LOAN_CLOSED (at the run)
    rep("T1", amount="7.00"),                    # DUPLICATE within the file
    rep("T8", amount="１２.00"),                  # full-width digits: not [0-9]
    rep("T9", payer="borrower"),                 # BAD_VALUE (case)
    rep("X" * 65),                               # BAD_VALUE: 65 characters
    rep("X" * 64, amount="1234567890123456.99"),  # good: 64 characters, 16 digits
    rep("T12", amount="-1.00"),                  # BAD_AMOUNT
    rep("T13", principal="-1.00"),               # BAD_AMOUNT reported_principal
    rep("T14", amount="5.5", fee="1.123"),       # BAD_AMOUNT reported_fee
    rep("T15", kind="PAYOFF", payer="GUARANTOR"),  # good
    rep("T16", loan_no="L1 "),                   # BAD_VALUE: trailing space
    rep("T17", paid_on="0001-01-01"),            # BAD_DATE: before the disbursement (run)
    rep("T18", payer=""),                        # MISSING_FIELD
    rep("T19", paid_on="2026-11-29", amount="1"),  # good
    rep("T20", paid_on="2026-05-31"),            # BAD_DATE: the day before disbursement (run)
    rep("T21", principal='1,5'),                 # quoted field: BAD_AMOUNT
    rep("T22", amount="12345678901234567"),      # BAD_AMOUNT: 17 integer digits (overflowed)
]


def outcome(result):
    quarantined = [
        (q.row_no, q.reason, q.column, q.message, q.raw, q.amount, q.stage)
        for q in QuarantinedRow.objects.filter(file_id=result.file_id).order_by("row_no")
    ]
    staged = list(StagedRepayment.objects.filter(file_id=result.file_id)
                  .exclude(status="QUARANTINED").order_by("row_no")
                  .values_list("row_no", "txn_no", "loan_no", "paid_on", "amount", "payer",
                               "kind", "reported_principal", "reported_fee"))
    return result.as_dict(), quarantined, staged


def _import(rows, *, crlf=False, slow=False, monkeypatch=None, header=REP_HEADER):
    if slow:
        monkeypatch.setattr(kinds, "line_regex", lambda *a, **k: None)
    name, data, control = build_file("repayments", rows, header=header, crlf=crlf)
    result = import_bytes(name, data, control)
    monkeypatch.undo()
    run_references(bdate=D1)  # the loan checks: the run's (lending.settlement.references)
    return result


class _Undo(Exception):
    pass


@pytest.mark.parametrize("flush", [None, 1, 2, 3])
@pytest.mark.parametrize("crlf", [False, True])
def test_fast_path_equals_full_checks(world, monkeypatch, crlf, flush):
    """Also with the COPY written every 1, 2 or 3 rows: runs of fast-path lines are cut at
    every place a write or a line off the fast path can cut them."""
    with pytest.MonkeyPatch.context() as mp:
        if flush:
            mp.setattr(streaming, "COPY_FLUSH_ROWS", flush)
        try:  # the full checks alone, then rolled back (quarantine rows are append-only)
            with transaction.atomic():
                slow = _import(TRICKY, crlf=crlf, slow=True, monkeypatch=monkeypatch)
                assert slow.status == "ACCEPTED", slow
                expected = outcome(slow)
                raise _Undo
        except _Undo:
            pass
        fast = _import(TRICKY, crlf=crlf, monkeypatch=monkeypatch)
    assert fast.status == "ACCEPTED", fast
    assert_balanced(fast.file_id)
    assert outcome(fast) == expected
    _, quarantined, staged = expected
    assert [s[1] for s in staged] == ["T1", "X" * 64, "T15", "T19"]
    assert {q[0]: q[1] for q in quarantined} == {
        2: "BAD_AMOUNT", 3: "BAD_DATE", 4: "FUTURE_DATE", 5: "UNKNOWN_LOAN", 6: "LOAN_CLOSED",
        7: "DUPLICATE", 8: "BAD_AMOUNT", 9: "BAD_VALUE", 10: "BAD_VALUE", 12: "BAD_AMOUNT",
        13: "BAD_AMOUNT", 14: "BAD_AMOUNT", 16: "BAD_VALUE", 17: "BAD_DATE",
        18: "MISSING_FIELD", 20: "BAD_DATE", 21: "BAD_AMOUNT", 22: "BAD_AMOUNT",
    }
    assert quarantined[-1][5] is None  # does not parse: not in the control total
    # the checks against the loan are the run's, with the same codes
    assert {q[0] for q in quarantined if q[6] == "APPLY"} == {5, 6, 17, 20}


def test_fast_path_regex_proves_the_format_checks():
    """Each column's fast pattern is at least as strict as its SQL format checks."""
    fast = kinds.line_regex("repayments", REP_HEADER)
    good = "T1,L-1_a,20261130,0.5,GUARANTOR,PREPAYMENT,,12\n"
    assert fast.fullmatch(good)
    for bad in ("T1,L1,2026-11-30,1.234,BORROWER,SCHEDULED,,\n",
                "T1,L1,2026-11-30,-1,BORROWER,SCHEDULED,,\n",
                "T1,L1,2026-11-30,12345678901234567,BORROWER,SCHEDULED,,\n",
                "T1,L1,2026/11/28,1,BORROWER,SCHEDULED,,\n",
                "T1,,2026-11-30,1,BORROWER,SCHEDULED,,\n",
                "T1,L1,2026-11-30,1,BORROWER,SCHEDULED,,\r\n",
                'T1,L1,2026-11-30,1,BORROWER,SCHEDULED,,"1"\n',
                "T1,L1,2026-11-30,1,BORROWER,SCHEDULED,,1\x00\n"):
        assert not fast.fullmatch(bad), bad
    assert kinds.line_regex("repayments", REP_HEADER, "\r\n").fullmatch(
        good.replace("\n", "\r\n"))
    assert kinds.line_regex("loans", HEADERS["loans"]) is None  # loans: full checks


def test_repayment_numbered_like_a_reversal_is_a_duplicate(world):
    name, data, control = build_file("repayments", [rep("T1")[:6], rep("T2")[:6]])
    assert import_bytes(name, data, control).quarantined == 0
    d2 = date(2026, 12, 1)
    name, data, control = build_file("reversals", [["V1", "T1", "2026-12-01", "100.00", ""]],
                                     bdate=d2)
    assert import_bytes(name, data, control).quarantined == 0
    name, data, control = build_file(
        "repayments", [rep("V1", paid_on="2026-12-01")[:6], rep("T3", paid_on="2026-12-01")[:6]],
        bdate=d2)
    result = import_bytes(name, data, control)
    q = QuarantinedRow.objects.get(file_id=result.file_id)
    v1 = StagedReversal.objects.get(txn_no="V1")
    assert (q.row_no, q.reason, q.column) == (1, "DUPLICATE", "txn_no")
    assert q.message == f"txn_no V1 is already a reversal (file {v1.file_id} row 1)"
    assert_balanced(result.file_id)
