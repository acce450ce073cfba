"""Broken files through the two interfaces (issue 19, item 5): `import_partner_file` prints the
contract's JSON and exits 1, the upload API answers the contract's JSON with a 422; the file
is recorded. Before: a NUL byte gave a psycopg traceback from the command and a 500 from the
API (nothing recorded), a deeply nested .ctl a RecursionError and a 500."""

import hashlib
import io
import json
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from intake_factories import build_file, make_loan
from rest_framework.test import APIClient

from partners.models import InboundFile, PartnerUser
from partners.services import api_key_issue

KEYS = {"file", "status", "rows", "quarantined", "reasons", "error"}
ROWS = [["T1", "L1", "2026-11-30", "100.00", "BORROWER", "SCHEDULED"]]
NESTED = b"[" * 3000 + b"]" * 3000  # 6,000 bytes: refused by size
DEEP = b'{"partner":' + b"[" * 2000 + b"]" * 2000 + b"}"  # 4,013 bytes: RecursionError before


def nul_file():
    name, data, control = build_file("repayments", ROWS)
    data = data.replace(b"SCHEDULED", b"SCHED\x00ULED")
    ctl = json.loads(control)
    ctl["sha256"] = hashlib.sha256(data).hexdigest()
    return name, data, json.dumps(ctl).encode()


CASES = {
    "nul": (nul_file, "line 2 (data row 1): a NUL byte (U+0000)"),
    "deep_ctl": (lambda: (*build_file("repayments", ROWS)[:2], DEEP),
                 "is not a flat JSON object: nested too deeply"),
    "big_ctl": (lambda: (*build_file("repayments", ROWS)[:2], NESTED), "more than 4096"),
    "long_row": (lambda: build_file("repayments", [ROWS[0] + ["x"]]),
                 "row 1 (line 2) has 7 fields, the header has 6"),
    "weekend": (lambda: build_file("repayments", ROWS, bdate=date(2026, 11, 28)),
                "is not a business day"),
}


@pytest.fixture
def loan(alpha):
    partner, version, program = alpha
    return make_loan(partner, program, version, "L1")


@pytest.mark.parametrize("case", sorted(CASES))
def test_command_prints_the_contract_json(loan, tmp_path, case):
    build, phrase = CASES[case]
    name, data, control = build()
    (tmp_path / name).write_bytes(data)
    (tmp_path / (name + ".ctl")).write_bytes(control)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_partner_file", str(tmp_path / name), stdout=out)
    assert exit_.value.code == 1
    answer = json.loads(out.getvalue())
    assert set(answer) == KEYS and answer["status"] == "REJECTED"
    assert phrase in answer["error"], answer
    f = InboundFile.objects.get()
    assert (f.status, f.error, f.channel) == ("REJECTED", answer["error"], "COMMAND")


@pytest.fixture
def client(loan):
    partner = loan.partner
    user = get_user_model().objects.create_user("alpha_ops", password="pw-123456789")
    link = PartnerUser.objects.create(user=user, partner=partner)
    _, raw = api_key_issue(partner_user=link, label="test")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return c


def post(client, name, data, control):
    files = {"file": SimpleUploadedFile(name, data)}
    if control is not None:
        files["control"] = SimpleUploadedFile(name + ".ctl", control)
    return client.post("/api/v1/files/upload/", files, format="multipart")


@pytest.mark.parametrize("case", sorted(CASES))
def test_api_answers_the_contract_json_with_422(client, case):
    build, phrase = CASES[case]
    resp = post(client, *build())
    assert resp.status_code == 422, resp.content
    answer = resp.json()
    assert set(answer) == KEYS and answer["status"] == "REJECTED"
    assert phrase in answer["error"], answer
    f = InboundFile.objects.get()
    assert (f.status, f.error, f.channel) == ("REJECTED", answer["error"], "API")


def test_api_empty_file_and_empty_control_are_the_intakes_to_judge(client):
    """An empty upload used to be refused by the form (400, not the contract's answer, not
    recorded)."""
    name, data, control = build_file("repayments", ROWS)
    for payload, phrase in (((name, b"", control), "digest mismatch"),
                            ((name, data, b""), "is not valid JSON")):
        resp = post(client, *payload)
        assert resp.status_code == 422, resp.content
        assert set(resp.json()) == KEYS and phrase in resp.json()["error"]
    assert InboundFile.objects.filter(status="REJECTED").count() == 2
