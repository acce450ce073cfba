"""Intake never crashes on input (issue 19, item 5; FILE_FORMATS 1.1 "Control file").

Before: a NUL byte in a data row raised a psycopg error out of partner_file_import (and the
file was not recorded); a deeply nested .ctl raised RecursionError; a row with one field too
many was quarantined, so the partner's control total no longer matched and the whole file was
rejected as "amount total mismatch" without naming the row. Now each is a REJECTED file,
recorded, with a message naming the line, the row or the key."""

import json
from datetime import date
from decimal import Decimal

import pytest
from intake_factories import (
    HEADERS,
    assert_balanced,
    build_file,
    control_for,
    import_bytes,
    import_rows,
    make_loan,
    nothing_staged,
)

from lending.models import StagedReversal
from partners.files.contract import FIELD_MAX
from partners.models import InboundFile

BDATE_ROW = "2026-11-30"


@pytest.fixture
def loan(alpha):
    partner, version, program = alpha
    return make_loan(partner, program, version, "L1")


def rep(txn, amount="100.00"):
    return [txn, "L1", BDATE_ROW, amount, "BORROWER", "SCHEDULED"]


def rejected(result, phrase: str) -> InboundFile:
    assert result.status == "REJECTED", result
    assert phrase in result.error, result.error
    assert (result.quarantined, result.reasons) == (0, {})
    assert nothing_staged()
    f = InboundFile.objects.get(pk=result.file_id)
    assert (f.status, f.error) == ("REJECTED", result.error)
    return f


def raw_file(kind: str, text: str, *, ctl: dict | None = None) -> tuple[str, bytes, bytes]:
    """A file of exactly these bytes (UTF-8), with a control file that matches them."""
    data = text.encode()
    name = f"ALPHA_{kind}_20261130.csv"
    control = control_for(data, "ALPHA", kind, date(2026, 11, 30),
                          text.count("\n") - 1, Decimal(ctl.pop("total", "0")) if ctl else 0)
    control.update(ctl or {})
    return name, data, json.dumps(control).encode()


REP_HEAD = ",".join(HEADERS["repayments"])


# --- control characters ---------------------------------------------------------------------

@pytest.mark.parametrize("kind, line2", [
    ("repayments", "T2,L1,2026-11-30,50.00,BORROWER,SCHEDU\x00LED"),      # unparsed line
    ("repayments", 'T2,L1,2026-11-30,50.00,BORROWER,"SCHEDU\x00LED"'),    # csv-parsed line
    ("reversals", "V2,T1,2026-11-30,50.00,a reason\x00"),                # free text column
    ("loans", "N2,P1,B-2\x00,50.00,0.12,12,EQUAL_INSTALLMENT,2026-11-30,BA-2"),  # loans
])
def test_nul_byte_rejects_the_file_naming_the_line(loan, kind, line2):
    head = ",".join(HEADERS[kind])
    ok = {"repayments": "T1,L1,2026-11-30,50.00,BORROWER,SCHEDULED",
          "reversals": "V1,T1,2026-11-30,50.00,",
          "loans": "N1,P1,B-1,50.00,0.12,12,EQUAL_INSTALLMENT,2026-11-30,BA-1"}[kind]
    name, data, control = raw_file(kind, f"{head}\n{ok}\n{line2}\n{ok}\n",
                                   ctl={"total": "150.00"})
    rejected(import_bytes(name, data, control),
             "line 3 (data row 2): a NUL byte (U+0000) in the data; only tab, CR and LF are "
             "allowed")


def test_other_control_characters_reject_and_tab_is_allowed(loan):
    for char in ("\x01", "\x1b", "\x7f", "\x85"):
        name, data, control = raw_file(
            "reversals", f"txn_no,reverses_txn_no,reversed_on,amount,reason\n"
                         f"V1,T1,2026-11-30,1.00,ok\n\nV2,T1,2026-11-30,1.00,bad{char}\n",
            ctl={"total": "2.00", "rows": 2})
        rejected(import_bytes(name, data, control),
                 f"line 4 (data row 2): a control character (U+{ord(char):04X})")
    result = import_rows("repayments", [rep("T1")])
    assert result.status == "ACCEPTED"
    name, data, control = build_file("reversals", [["V1", "T1", BDATE_ROW, "100.00",
                                                    "a\treason"]])
    tab = import_bytes(name, data, control)
    assert tab.status == "ACCEPTED" and tab.quarantined == 0, tab
    assert StagedReversal.objects.get().reason == "a\treason"


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(loan):
    text = (f"{REP_HEAD}\n"
            'T1,L1,2026-11-30,1.00,BORROWER,"SCHED\nULED"\n'   # lines 2-3
            "\n"                                              # line 4, blank
            "T2,L1,2026-11-30,1.00,BORROWER,SCHEDULED\n"      # line 5
            "T3,L1,2026-11-30,1.00,BORROWER,SCHEDULED,x\n")   # line 6, data row 3
    name, data, control = raw_file("repayments", text, ctl={"rows": 3, "total": "2.00"})
    rejected(import_bytes(name, data, control),
             "row 3 (line 6) has 7 fields, the header has 6")


# --- field counts ---------------------------------------------------------------------------

@pytest.mark.parametrize("row, fields", [
    (["T2", "L1", BDATE_ROW], 3),                         # short: was MISSING_FIELD
    (rep("T2") + ["extra"], 7),                            # long: was "amount total mismatch"
    (rep("T2")[:5] + ['SCHEDULED,"x"'], 6),                # quoted comma: 6, fine
])
def test_row_with_wrong_number_of_fields_rejects_naming_row_and_counts(loan, row, fields):
    rows = [rep("T1"), row, rep("T3")]
    result = import_rows("repayments", rows)
    if fields == 6:
        assert result.status == "ACCEPTED" and result.reasons == {"BAD_VALUE": 1}, result
        assert_balanced(result.file_id)
        return
    rejected(result, f"row 2 (line 3) has {fields} fields, the header has 6")


def test_partner_control_total_with_a_long_row_names_the_row_not_the_total(loan):
    """The issue's repro: the partner counts the long row's amount in its control total."""
    name, data, _ = build_file("repayments", [rep("T1"), rep("T2") + ["x"]])
    ctl = control_for(data, "ALPHA", "repayments", date(2026, 11, 30), 2, Decimal("200.00"))
    result = import_bytes(name, data, json.dumps(ctl).encode())
    f = rejected(result, "row 2 (line 3) has 7 fields, the header has 6")
    assert "amount total" not in f.error


def test_short_loans_row_rejects(loan):
    rows = [["N1", "P1", "B-1", "50.00", "0.12", "12", "EQUAL_INSTALLMENT", BDATE_ROW, "BA-1"],
            ["N2", "P1", "B-2"]]
    rejected(import_rows("loans", rows), "row 2 (line 3) has 3 fields, the header has 9")


# --- over-long fields -----------------------------------------------------------------------

def test_over_long_field_rejects_the_file_naming_the_column(loan):
    """Decision (lending/intake/README.md): a field over FIELD_MAX characters rejects the
    file; an identifier over 64 characters stays a quarantined BAD_VALUE row."""
    assert import_rows("repayments", [rep("T1")]).status == "ACCEPTED"
    for reason, phrase in (
        ("r" * (FIELD_MAX + 1), f"the reason field is {FIELD_MAX + 1} characters long, more "
                                f"than {FIELD_MAX}"),                          # unquoted
        ("r," * 3000, "the reason field is 6000 characters long"),             # quoted
        ("r" * 200_000, "the reason field is 200000 characters long"),      # unquoted
        ("r," * 100_000, "malformed CSV at line 2 (data row 1): field larger than field "
                         "limit"),                                              # quoted
    ):
        result = import_rows("reversals", [["V1", "T1", BDATE_ROW, "100.00", reason]])
        assert result.status == "REJECTED", result
        assert phrase in result.error, result.error
        assert "line 2 (data row 1)" in result.error
    loans = [["N1", "P1", "B" * 5000, "50.00", "0.12", "12", "EQUAL_INSTALLMENT", BDATE_ROW,
              "BA-1"]]
    result = import_rows("loans", loans)
    assert result.status == "REJECTED" and "the borrower_ref field is 5000 characters long" in (
        result.error), result
    at_max = ["V1", "T1", BDATE_ROW, "100.00", "r" * FIELD_MAX]
    kept = import_rows("reversals", [at_max])
    assert (kept.status, kept.quarantined) == ("ACCEPTED", 0), kept
    assert len(StagedReversal.objects.get().reason) == FIELD_MAX
    long_id = import_rows("repayments", [rep("T" * 65)], bdate=date(2026, 12, 1))
    assert long_id.reasons == {"BAD_VALUE": 1}  # an identifier over 64: quarantined


# --- control files --------------------------------------------------------------------------

GOOD = [rep("T1"), rep("T2", "50.50")]


def ctl_bytes(mutate) -> tuple[str, bytes, bytes]:
    name, data, control = build_file("repayments", GOOD)
    obj = json.loads(control)
    out = mutate(obj)
    return name, data, out if isinstance(out, bytes) else json.dumps(out).encode()


@pytest.mark.parametrize("mutate, phrase", [
    (lambda c: {**c, "rows": {"n": 2}}, "rows must be an integer, not an object"),
    (lambda c: {**c, "partner": ["ALPHA"]}, "partner must be a string, not a list"),
    (lambda c: {**c, "rows": 2.0}, "rows must be an integer, not a number"),
    (lambda c: {**c, "rows": True}, "rows must be an integer, not a boolean"),
    (lambda c: {**c, "sha256": None}, "sha256 must be a string, not a null"),
    (lambda c: {**c, "amount_total": False}, "amount_total must be a string or a number"),
    (lambda c: {k: v for k, v in c.items() if k != "kind"}, "lacks kind"),
    (lambda c: {**c, "note": "x"}, "unknown key(s) 'note'"),
    (lambda c: [c], "is not a JSON object but a list"),
    (lambda c: "ALPHA", "is not a JSON object but a string"),
    (lambda c: json.dumps(c).replace('"rows"', '"rows": 2, "rows"', 1).encode(),
     "key 'rows' is given twice"),
    (lambda c: {**c, "note": "x" * 5000}, "bytes, more than 4096"),
    (lambda c: b"[" * 100_000 + b"]" * 100_000, "bytes, more than 4096"),
    (lambda c: b"[" * 2000 + b"]" * 2000, "nested too deeply"),
    (lambda c: b"\xff\xfe", "is not valid JSON"),
    (lambda c: {**c, "amount_total": "1e3"}, "amount_total '1e3' is not an amount"),
    (lambda c: {**c, "amount_total": "NaN"}, "amount_total 'NaN' is not an amount"),
    (lambda c: {**c, "amount_total": "1" * 30}, "is not an amount"),
    (lambda c: {**c, "rows": 1 << 64}, "rows 18446744073709551616 is not a non-negative"),
    (lambda c: {**c, "rows": -1}, "rows -1 is not a non-negative integer"),
    (lambda c: {**c, "partner": "AL\x00PHA"}, "partner 'AL\\x00PHA' is not a code"),
    (lambda c: {**c, "business_date": "２０２６１１３０"}, "business_date '２０２６１１３０' is not a"),
    (lambda c: json.dumps(c).replace('"150.50"', "Infinity").encode(), "is not valid JSON"),
])
def test_bad_control_file_rejects_naming_the_key(loan, mutate, phrase):
    name, data, control = ctl_bytes(mutate)
    rejected(import_bytes(name, data, control), phrase)


def test_amount_total_as_a_json_number_is_read_exactly(loan):
    name, data, control = ctl_bytes(lambda c: json.dumps(c).replace('"150.50"', "150.50")
                                    .encode())
    assert b'"amount_total": 150.50' in control
    assert import_bytes(name, data, control).status == "ACCEPTED"


def test_nul_in_the_file_name_is_recorded(loan):
    name, data, control = build_file("repayments", GOOD)
    f = rejected(import_bytes("ALPHA_\x00" + name, data, control), "does not follow")
    assert f.name == "ALPHA_\\x00" + name
