"""`manage.py import_partner_file PATH [--encoding]`: the contract's JSON and exit codes."""

import json

import pytest
from django.core.management import call_command
from intake_factories import assert_balanced, make_loan, write_file

ROWS = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"],
        ["T2", "LX", "2026-11-30", "5.25", "BORROWER", "SCHEDULED"]]


def run(path, *args):
    import io

    out = io.StringIO()
    code = 0
    try:
        call_command("import_partner_file", str(path), *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip()


@pytest.fixture
def loan(alpha):
    partner, version, program = alpha
    return make_loan(partner, program, version, "L1")


def test_accepted_file_prints_the_summary(loan, tmp_path):
    path = write_file(tmp_path, "repayments", ROWS)
    code, out = run(path)
    assert code == 0
    assert out.count("\n") == 0  # one JSON object on one line
    # the row of an unknown loan is quarantined by the run (its loans file may come later)
    assert json.loads(out) == {"file": "ALPHA_repayments_20261130.csv", "status": "ACCEPTED",
                               "rows": 2, "quarantined": 0, "reasons": {}, "error": None}
    from partners.models import InboundFile

    f = InboundFile.objects.get(name=path.name)
    assert f.channel == "COMMAND" and f.sent_by_label.startswith("command:")
    assert_balanced(f.pk)
    code, out = run(path)  # resend
    assert code == 0 and json.loads(out)["status"] == "DUPLICATE"


def test_rejected_file_exits_1(loan, tmp_path):
    path = write_file(tmp_path, "repayments", ROWS, with_ctl=False)
    code, out = run(path)
    assert code == 1
    body = json.loads(out)
    assert body["status"] == "REJECTED" and "control file" in body["error"]
    assert (body["rows"], body["quarantined"], body["reasons"]) == (0, 0, {})


def test_unreadable_path_exits_2(db, tmp_path):
    code, out = run(tmp_path / "ALPHA_repayments_20261130.csv")
    assert code == 2 and out == ""


def test_explicit_encoding_option(loan, tmp_path):
    rows = [["V1", "T1", "2026-11-30", "100.00", "重复扣款冲正"]]
    run(write_file(tmp_path, "repayments", ROWS[:1]))
    path = write_file(tmp_path, "reversals", rows, encoding="gb18030")
    code, out = run(path)
    assert code == 1 and "do not decode as utf-8" in json.loads(out)["error"]
    code, out = run(path, "--encoding", "gbk")
    assert code == 0 and json.loads(out)["status"] == "ACCEPTED"
