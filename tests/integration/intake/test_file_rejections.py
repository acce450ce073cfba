"""Acceptance 1: every whole-file rejection, each with one clear message and nothing staged."""

import pytest
from intake_factories import (
    BDATE,
    assert_balanced,
    build_file,
    import_bytes,
    import_rows,
    make_loan,
    nothing_staged,
)

from partners.models import InboundFile

GOOD = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"],
        ["T2", "L1", "2026-11-30", "50.50", "BORROWER", "SCHEDULED"]]


@pytest.fixture
def loan(alpha):
    partner, version, program = alpha
    return make_loan(partner, program, version, "L1")


def rejected(result, phrase):
    assert result.status == "REJECTED", result
    assert phrase in result.error, result.error
    assert result.quarantined == 0 and result.reasons == {}
    assert nothing_staged()
    f = InboundFile.objects.get(pk=result.file_id)
    assert f.status == "REJECTED" and f.error == result.error
    return f


@pytest.mark.parametrize(
    "override, phrase",
    [
        ({"rows": 3}, "row count mismatch: the file has 2 data rows, the control file says 3"),
        ({"amount_total": "150.51"}, "amount total mismatch"),
        ({"sha256": "0" * 64}, "digest mismatch"),
        ({"partner": "BETA"}, "partner is BETA in the control file, ALPHA in the file name"),
        ({"kind": "loans"}, "kind is loans in the control file"),
        ({"business_date": "2026-11-29"}, "business_date is 2026-11-29 in the control file"),
        ({"rows": "two"}, "rows must be an integer, not a string"),
    ],
)
def test_control_file_mismatch(loan, override, phrase):
    f = rejected(import_rows("repayments", GOOD, ctl=override), phrase)
    assert f.partner.code == "ALPHA" and f.business_date == BDATE


def test_missing_control_file(loan):
    name, data, _ = build_file("repayments", GOOD)
    rejected(import_bytes(name, data, None), "control file ALPHA_repayments_20261130.csv.ctl "
                                             "is missing")


def test_control_file_not_json(loan):
    name, data, _ = build_file("repayments", GOOD)
    rejected(import_bytes(name, data, b"rows=2"), "is not valid JSON")


def test_undecodable_bytes(loan):
    rows = GOOD + [["T3", "L1", "2026-11-30", "1.00", "BORROWER", "SCHEDULED"]]
    name, data, _ = build_file("repayments", rows)
    data = data.replace(b"T3", b"T\xff")  # not UTF-8
    _, _, control = build_file("repayments", rows)
    import hashlib
    import json
    ctl = json.loads(control)
    ctl["sha256"] = hashlib.sha256(data).hexdigest()
    rejected(import_bytes(name, data, json.dumps(ctl).encode()),
             "the bytes do not decode as utf-8: invalid start byte (bytes ff")


def test_missing_required_column(loan):
    header = ["txn_no", "loan_no", "paid_on", "amount", "payer"]
    rows = [r[:5] for r in GOOD]
    rejected(import_rows("repayments", rows, header=header),
             "bad header for a repayments file: missing required column(s) kind")


def test_unknown_column(loan):
    header = ["txn_no", "loan_no", "paid_on", "amount", "payer", "kind", "channel"]
    rows = [r + ["APP"] for r in GOOD]
    rejected(import_rows("repayments", rows, header=header), "unknown column(s) 'channel'")


def test_unknown_partner(db):
    f = rejected(import_rows("repayments", GOOD, partner="NOBODY"), "partner NOBODY is unknown")
    assert f.partner is None and f.partner_code == "NOBODY"


def test_bad_file_name(loan):
    _, data, control = build_file("repayments", GOOD)
    rejected(import_bytes("alpha-repayments.csv", data, control),
             "does not follow <PARTNER>_<KIND>_<YYYYMMDD>.csv")


def test_different_file_for_accepted_partner_kind_date(loan):
    first = import_rows("repayments", GOOD)
    assert first.status == "ACCEPTED"
    other = import_rows("repayments", GOOD[:1])
    assert other.status == "REJECTED"
    assert "a different repayments file of ALPHA for 2026-11-30 was already accepted" in \
        other.error
    assert_balanced(first.file_id)  # the accepted file is untouched
    assert InboundFile.objects.filter(status="ACCEPTED").count() == 1


def test_rejection_after_rows_were_copied_leaves_nothing(loan):
    # the row count is only known after the rows went into the database: still nothing stays
    rows = GOOD * 3
    rejected(import_rows("repayments", rows, ctl={"rows": 5}), "row count mismatch")
