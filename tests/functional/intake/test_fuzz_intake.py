"""Hypothesis fuzz of the intake envelope and row checks (issue 19, acceptance 4).

Random bytes, random CSV shapes and random control-file values go through the real
`partner_file_import` and through the upload API's test client. Whatever goes in, the answer
is the contract's JSON object (exactly file, status, rows, quarantined, reasons, error), the
file is recorded in the registry with that answer, an accepted file keeps rows = staged +
quarantined and its amounts, and nothing raises or answers 500. Each example runs in a
savepoint that is rolled back, so every example meets the same world (one booked loan L1,
one loan N0 staged the business day before, the last settled day 2026-11-26).

Bounded (about 60 examples a test) so the module takes well under a minute; the strategies
mix valid values with broken ones so that examples reach the row checks, not only the
envelope's first rejection.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import string
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from intake_factories import AMOUNT_RE, HEADERS, assert_balanced, import_rows, make_loan
from rest_framework.test import APIClient

from lending.intake.services import partner_file_import
from lending.settlement.models import RunState, SettlementRun
from partners.files.contract import KINDS
from partners.models import InboundFile, PartnerUser
from partners.services import api_key_issue

BDATE = date(2026, 11, 30)
KEYS = {"file", "status", "rows", "quarantined", "reasons", "error"}
# FUZZ_N=600 searches harder (about 30 s); the suite runs 80 examples a test
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_N", "80")), deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
def world(alpha):
    partner, version, program = alpha
    make_loan(partner, program, version, "L1")
    SettlementRun.objects.create(partner=partner, business_date=date(2026, 11, 26),
                                 state=RunState.DONE)
    staged = import_rows("loans", [["N0", "P1", "B-0", "100.00", "0.12", "12",
                                    "EQUAL_INSTALLMENT", "2026-11-27", "BA-0"]],
                         bdate=date(2026, 11, 27))
    assert staged.quarantined == 0
    return alpha


# --- strategies -----------------------------------------------------------------------------

odd_text = st.text(alphabet=st.sampled_from(list(string.printable.strip("\x0b\x0c")) + [
    "é", "汉", "\u2028", "\ufeff", '"', ",", "\r", "\n", "\t"]), max_size=12)
control_text = st.text(alphabet=st.sampled_from(["a", "\x00", "\x01", "\x1f", "\x7f", "\x85"]),
                       min_size=1, max_size=3)
ugly_text = odd_text
VALUES = {
    "loan_no": st.sampled_from(["L1", "N0", "N1", "LX", "", "L 1", "x" * 65]),
    "txn_no": st.sampled_from(["T1", "T2", "T1", "V1", "", "t-9_Z", "x" * 65]),
    "reverses_txn_no": st.sampled_from(["T1", "T9", ""]),
    "program_code": st.sampled_from(["P1", "P9", ""]),
    "borrower_ref": st.sampled_from(["B-1", "", "借款人"]),
    "bank_approval_ref": st.sampled_from(["BA-1", "", "x" * 70]),
    "repayment_method": st.sampled_from(["EQUAL_INSTALLMENT", "DAILY", "BALLOON", ""]),
    "term_months": st.sampled_from(["12", "0", "37", "-1", "99999", "1.5", ""]),
    "payer": st.sampled_from(["BORROWER", "GUARANTOR", "BANK", ""]),
    "kind": st.sampled_from(["SCHEDULED", "PREPAYMENT", "PAYOFF", "x"]),
    "status": st.sampled_from(["ACTIVE", "PAID_OFF", "OPEN", ""]),
    "dpd": st.sampled_from(["0", "12", "-1", "1234567", "x", ""]),
    "reason": ugly_text,
}
DATE = st.sampled_from(["2026-11-30", "20261130", "2026-11-28", "2026-11-27", "2026-12-01",
                        "0001-01-01", "9999-12-31", "2026-02-30", "2026-06-01", "20260531",
                        "30/11/2026", ""])
AMOUNT = st.one_of(
    st.decimals(min_value=Decimal("-100"), max_value=Decimal("99999"), places=2,
                allow_nan=False).map(str),
    st.sampled_from(["0", "0.00", "1e3", "12.345", "１２", "12345678901234567", "", " 1"]))
RATE = st.sampled_from(["0.12", "0.05", "0.3", "1", "0.123456789", "12%", ""])


def value_for(col: str) -> st.SearchStrategy[str]:
    if col in VALUES:
        return st.one_of(*[VALUES[col]] * 4, ugly_text) if col != "reason" else VALUES[col]
    if col.endswith("_on") or col == "as_of":
        return st.one_of(DATE, DATE, DATE, DATE, ugly_text)
    if col in ("annual_rate", "bank_ratio"):
        return st.one_of(RATE, RATE, RATE, RATE, ugly_text)
    return st.one_of(AMOUNT, AMOUNT, AMOUNT, AMOUNT, ugly_text)


def csv_cell(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v


@st.composite
def csv_files(draw) -> tuple[str, bytes, bytes]:
    """A file of a random kind: the header a permutation of its columns (sometimes one
    dropped or an unknown one added), rows of random values (sometimes a field more or
    less), LF or CRLF, UTF-8 with or without BOM or GB18030; a control file that matches
    (or, sometimes, not in one field)."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    spec = KINDS[kind]
    header = draw(st.permutations(list(spec.columns)))
    shape = draw(st.sampled_from(["ok"] * 6 + ["drop", "unknown"]))
    if shape == "drop":
        header = header[1:]
    elif shape == "unknown":
        header = [*header, "surprise"]
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(value_for(c)) for c in header]
        ragged = draw(st.sampled_from(["same"] * 30 + ["short", "long"]))
        if ragged == "short":
            row = row[:-1]
        elif ragged == "long":
            row = [*row, "x"]
        rows.append(row)
    if rows and draw(st.integers(0, 7)) == 0:  # now and then a control character in a cell
        row = draw(st.sampled_from(rows))
        i = draw(st.integers(0, len(row) - 1))
        row[i] += draw(control_text)
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(",".join(csv_cell(v) for v in r) for r in [header, *rows])
    text += draw(st.sampled_from([eol, "", eol + eol]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    data = text.encode(encoding, "surrogatepass")
    total = Decimal("0")
    if spec.main_amount in header:
        i = header.index(spec.main_amount)
        for r in rows:
            if len(r) == len(header) and AMOUNT_RE.match(r[i]):  # what parses (contract)
                total += Decimal(r[i])
    control = {"partner": "ALPHA", "kind": kind, "business_date": BDATE.isoformat(),
               "rows": len(rows), "amount_total": f"{total:.2f}",
               "sha256": hashlib.sha256(data).hexdigest()}
    if draw(st.integers(0, 9)) == 0:  # one field off
        key = draw(st.sampled_from(sorted(control)))
        control[key] = draw(st.sampled_from(["x", 1, None, "2026-12-01", "0.00"]))
    return f"ALPHA_{kind}_{BDATE:%Y%m%d}.csv", data, json.dumps(control).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8)


@st.composite
def random_controls(draw) -> tuple[str, bytes, bytes]:
    """A good repayments file with a control file of random JSON values: each contract key
    kept, dropped or given a random value, sometimes an extra key, sometimes not an object."""
    name = f"ALPHA_repayments_{BDATE:%Y%m%d}.csv"
    data = "txn_no,loan_no,paid_on,amount,payer,kind\nT1,L1,2026-11-30,1.00,BORROWER,PAYOFF\n"
    data = data.encode()
    good = {"partner": "ALPHA", "kind": "repayments", "business_date": "2026-11-30",
            "rows": 1, "amount_total": "1.00", "sha256": hashlib.sha256(data).hexdigest()}
    form = draw(st.sampled_from(["object"] * 5 + ["value", "bytes"]))
    if form == "value":
        return name, data, json.dumps(draw(json_values)).encode()
    if form == "bytes":
        return name, data, draw(st.binary(max_size=64))
    control = {}
    for key, value in good.items():
        fate = draw(st.sampled_from(["keep"] * 4 + ["drop", "random"]))
        if fate == "keep":
            control[key] = value
        elif fate == "random":
            control[key] = draw(json_values)
    if draw(st.booleans()):
        control.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return name, data, json.dumps(control).encode()


@st.composite
def random_bytes(draw) -> tuple[str, bytes, bytes]:
    """Random bytes (sometimes after a valid header) with a control file that matches them
    in digest and size, so that they reach the decoding and row parsing."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    head = draw(st.sampled_from([b"", ",".join(HEADERS[kind]).encode() + b"\n"]))
    data = head + draw(st.binary(max_size=300))
    rows = draw(st.integers(0, 4))
    control = {"partner": "ALPHA", "kind": kind, "business_date": BDATE.isoformat(),
               "rows": rows, "amount_total": "0.00",
               "sha256": hashlib.sha256(data).hexdigest()}
    name = draw(st.sampled_from([f"ALPHA_{kind}_{BDATE:%Y%m%d}.csv", "x.csv",
                                 f"ALPHA_{kind}_20261128.csv", "ALPHA_\x00.csv"]))
    return name, data, json.dumps(control).encode()


files = st.one_of(csv_files(), csv_files(), random_controls(), random_bytes())


# --- the invariants -------------------------------------------------------------------------

def outcome(answer: dict) -> str:
    """What an example reached (`--hypothesis-show-statistics` lists them)."""
    return f"{answer['status']}: " + (answer["error"] or ",".join(sorted(answer["reasons"])))[:60]


def check_answer(answer: dict, *, file_id: int | None = None) -> None:
    assert set(answer) == KEYS, answer
    assert answer["status"] in ("ACCEPTED", "REJECTED", "DUPLICATE"), answer
    assert isinstance(answer["rows"], int) and isinstance(answer["quarantined"], int)
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in answer["reasons"].items())
    assert (answer["error"] is None) == (answer["status"] != "REJECTED"), answer
    f = (InboundFile.objects.get(pk=file_id) if file_id is not None
         else InboundFile.objects.order_by("-pk").first())
    assert f is not None and f.status == answer["status"], (answer, f)
    if answer["status"] == "REJECTED":
        assert answer["error"] and f.error == answer["error"]
    if answer["status"] == "ACCEPTED":
        assert_balanced(f.pk)
        assert (f.rows, f.quarantined_count) == (answer["rows"], answer["quarantined"])
        assert sum(answer["reasons"].values()) == answer["quarantined"]


def in_savepoint(fn) -> None:
    """Run one example and roll it back: every example meets the same world."""
    with transaction.atomic():
        fn()
        transaction.set_rollback(True)


@pytest.mark.django_db
@FUZZ
@given(case=files)
def test_fuzz_partner_file_import(world, case):
    name, data, control = case

    def one():
        before = InboundFile.objects.count()
        result = partner_file_import(name=name, data=io.BytesIO(data), control=control,
                                     channel="COMMAND", sent_by_label="fuzz")
        assert InboundFile.objects.count() == before + 1
        check_answer(result.as_dict(), file_id=result.file_id)
        event(outcome(result.as_dict()))

    in_savepoint(one)


@pytest.fixture
def api(world):
    user = get_user_model().objects.create_user("alpha_fuzz", password="pw-123456789")
    link = PartnerUser.objects.create(user=user, partner=world[0])
    _, raw = api_key_issue(partner_user=link, label="fuzz")
    client = APIClient(raise_request_exception=True)  # an exception fails the example
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def names_another_partner(name: str, control: bytes) -> bool:
    """The API's documented 403 (nothing recorded): the file name or the control file names
    a partner other than the caller."""
    if name.startswith("ALPHA_") and not name.startswith("ALPHA_\x00"):
        try:
            ctl = json.loads(control.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return False
        return isinstance(ctl, dict) and isinstance(ctl.get("partner"), str) and (
            ctl["partner"] != "ALPHA")
    return False


@pytest.mark.django_db
@FUZZ
@given(case=files)
def test_fuzz_upload_api(api, case):
    name, data, control = case

    def one():
        before = InboundFile.objects.count()
        resp = api.post("/api/v1/files/upload/", {
            "file": SimpleUploadedFile(name, data),
            "control": SimpleUploadedFile(name + ".ctl", control)}, format="multipart")
        if resp.status_code == 403:
            assert names_another_partner(name, control), resp.content
            assert InboundFile.objects.count() == before
            return
        assert resp.status_code in (200, 201, 422), (resp.status_code, resp.content)
        answer = resp.json()
        assert resp.status_code == {"ACCEPTED": 201, "DUPLICATE": 200,
                                    "REJECTED": 422}[answer["status"]]
        assert InboundFile.objects.count() == before + 1
        check_answer(answer)
        event(outcome(answer))

    in_savepoint(one)


def test_the_fuzz_can_fail(world):
    """The invariants are not vacuous: a recorded answer that disagrees with the registry, or
    an accepted file whose rows do not add up, fails check_answer."""
    result = import_rows("repayments", [["T1", "L1", "2026-11-30", "1.00", "BORROWER",
                                         "PAYOFF"]])
    answer = result.as_dict()
    check_answer(answer, file_id=result.file_id)
    with pytest.raises(AssertionError):
        check_answer({**answer, "status": "REJECTED"}, file_id=result.file_id)
    with pytest.raises(AssertionError):
        check_answer({**answer, "extra": 1}, file_id=result.file_id)
    InboundFile.objects.filter(pk=result.file_id).update(rows=2)
    with pytest.raises(AssertionError):
        check_answer(answer, file_id=result.file_id)
