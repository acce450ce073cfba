"""GBK/GB18030 and UTF-8 (BOM, CRLF) files; resends; the quarantine is append-only."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from intake_factories import (
    HEADERS,
    assert_balanced,
    build_file,
    import_bytes,
    import_rows,
    make_loan,
    make_partner,
    run_references,
)

from lending.models import StagedRepayment, StagedReversal
from partners.models import InboundFile, QuarantinedRow

D2 = date(2026, 12, 1)
REPAYMENTS = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"],
              ["T2", "L1", "2026-11-30", "30.00", "GUARANTOR", "SCHEDULED"]]
CHINESE = "借款人申请冲正，重复扣款"


def _stage_repayments(code="ALPHA"):
    result = import_rows("repayments", REPAYMENTS, partner=code)
    assert result.status == "ACCEPTED" and result.quarantined == 0, result
    return result


@pytest.fixture
def gbk_partner(db):
    partner, version, program = make_partner("GAMMA", encoding="gb18030")
    make_loan(partner, program, version, "L1")
    return partner


def test_gbk_file_by_partner_profile(gbk_partner):
    _stage_repayments("GAMMA")
    rows = [["V1", "T1", "2026-12-01", "100.00", CHINESE],
            ["V2", "T9", "2026-12-01", "5.00", "未知交易"]]
    name, data, control = build_file("reversals", rows, partner="GAMMA", bdate=D2,
                                     encoding="gbk")
    assert CHINESE.encode("gbk") in data
    result = import_bytes(name, data, control)
    assert result.status == "ACCEPTED" and result.quarantined == 0, result
    assert StagedReversal.objects.get(txn_no="V1").reason == CHINESE
    run_references("GAMMA", D2)  # the reversed repayment is checked by the run
    q = QuarantinedRow.objects.get(file_id=result.file_id)
    assert q.reason == "NOT_REVERSIBLE" and q.raw == "V2,T9,2026-12-01,5.00,未知交易"
    assert q.stage == "APPLY"
    assert InboundFile.objects.get(pk=result.file_id).encoding == "gb18030"
    assert_balanced(result.file_id)


def test_gbk_file_by_explicit_option(alpha):
    partner, version, program = alpha  # profile says UTF-8
    make_loan(partner, program, version, "L1")
    _stage_repayments()
    rows = [["V1", "T1", "2026-12-01", "100.00", CHINESE]]
    name, data, control = build_file("reversals", rows, bdate=D2, encoding="gbk")
    wrong = import_bytes(name, data, control)
    assert wrong.status == "REJECTED" and "do not decode as utf-8" in wrong.error
    right = import_bytes(name, data, control, encoding="gbk")
    assert right.status == "ACCEPTED" and right.quarantined == 0
    assert StagedReversal.objects.get(txn_no="V1").reason == CHINESE


def test_utf8_bom_and_crlf(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")
    name, data, control = build_file("repayments", REPAYMENTS, bom=True, crlf=True)
    assert data.startswith(b"\xef\xbb\xbftxn_no,") and b"\r\n" in data
    result = import_bytes(name, data, control)
    assert result.status == "ACCEPTED" and result.quarantined == 0, result
    assert StagedRepayment.objects.get(txn_no="T2").kind == "SCHEDULED"  # no stray \r
    assert_balanced(result.file_id)


def test_columns_in_any_order_and_quoted_fields(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")
    header = ["amount", "kind", "payer", "paid_on", "loan_no", "txn_no"]
    rows = [[r[3], r[5], r[4], r[2], r[1], r[0]] for r in REPAYMENTS]
    name, data, control = build_file("repayments", rows, header=header, crlf=True)
    data_q = data.replace(b"100.00", b'"100.00"')
    import hashlib
    import json
    ctl = json.loads(control)
    ctl["sha256"] = hashlib.sha256(data_q).hexdigest()
    result = import_bytes(name, data_q, json.dumps(ctl).encode())
    assert result.status == "ACCEPTED" and result.quarantined == 0, result
    assert str(StagedRepayment.objects.get(txn_no="T1").amount) == "100.00"


def test_resend_of_accepted_file_is_a_noop(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")
    rows = REPAYMENTS + [["T3", "L1", "2026-12-01", "1.00", "BORROWER", "SCHEDULED"]]
    first = import_rows("repayments", rows)
    assert first.status == "ACCEPTED" and first.quarantined == 1
    staged = list(StagedRepayment.objects.values_list("pk", flat=True))
    again = import_rows("repayments", rows)
    assert again.status == "DUPLICATE" and again.error is None
    assert (again.rows, again.quarantined, again.reasons) == (3, 1, {"FUTURE_DATE": 1})
    assert list(StagedRepayment.objects.values_list("pk", flat=True)) == staged
    assert QuarantinedRow.objects.count() == 1
    dup = InboundFile.objects.get(pk=again.file_id)
    assert dup.status == "DUPLICATE" and dup.duplicate_of_id == first.file_id
    assert InboundFile.objects.filter(status="ACCEPTED").count() == 1


def test_empty_file_with_header_only(alpha):
    result = import_rows("repayments", [])
    assert result.status == "ACCEPTED" and result.rows == 0
    assert_balanced(result.file_id)


def test_headerless_empty_file_is_rejected(alpha):
    _, _, control = build_file("repayments", [])
    import hashlib
    import json
    ctl = json.loads(control)
    ctl["sha256"] = hashlib.sha256(b"").hexdigest()
    result = import_bytes("ALPHA_repayments_20261130.csv", b"", json.dumps(ctl).encode())
    assert result.status == "REJECTED" and "no header row" in result.error


@pytest.mark.db_owner  # the owner: the trigger, not the app role's missing DELETE
def test_quarantined_rows_are_append_only(alpha):
    result = import_rows("repayments", [["T1", "LX", "2026-11-30", "1.00", "BORROWER",
                                         "SCHEDULED"]])
    run_references()  # UNKNOWN_LOAN, by the run
    row = QuarantinedRow.objects.get(file_id=result.file_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuarantinedRow.objects.filter(pk=row.pk).update(message="edited")
    with pytest.raises(IntegrityError), transaction.atomic():
        QuarantinedRow.objects.filter(pk=row.pk).delete()
    from partners.services import quarantined_rows_resolve

    assert quarantined_rows_resolve(rows=[row], note="loan booked late; partner resends",
                                    by=None) == 1
    row.refresh_from_db()
    assert row.resolved and row.resolution_note.startswith("loan booked late")
    with pytest.raises(IntegrityError), transaction.atomic():  # resolved once, then frozen
        QuarantinedRow.objects.filter(pk=row.pk).update(resolution_note="changed")


def test_header_lists_are_the_contract():
    from partners.files.contract import KINDS

    for kind, header in HEADERS.items():
        assert set(KINDS[kind].required) <= set(header) <= set(KINDS[kind].columns)
