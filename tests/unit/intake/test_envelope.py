"""The file envelope as pure functions: names, control files, encodings, CSV reading."""

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partners.files.contract import KINDS
from partners.files.envelope import (
    FileRejected,
    RowReader,
    codec_for,
    control_parse,
    file_name_parse,
    header_check,
)


def test_file_name():
    f = file_name_parse("ALPHA_CO_repayments_20261130.csv")
    assert (f.partner_code, f.kind, f.business_date) == ("ALPHA_CO", "repayments",
                                                         date(2026, 11, 30))
    for bad in ("ALPHA_repayments_20261130.txt", "ALPHA_payments_20261130.csv",
                "ALPHA_loans_20260230.csv", "alpha_loans_20261130.csv"):
        with pytest.raises(FileRejected):
            file_name_parse(bad)


def test_control_file():
    c = control_parse(b'\xef\xbb\xbf{"partner": "A1", "kind": "loans", "business_date": '
                      b'"20261130", "rows": 3, "amount_total": 1830.50, "sha256": "' +
                      b"A" * 64 + b'"}', name="x")
    assert (c.rows, c.amount_total, c.business_date, c.sha256) == (
        3, Decimal("1830.50"), date(2026, 11, 30), "a" * 64)
    with pytest.raises(FileRejected, match="lacks sha256"):
        control_parse(b'{"partner": "A", "kind": "loans", "business_date": "2026-11-30", '
                      b'"rows": 1, "amount_total": "1"}', name="x")


def test_codecs():
    assert codec_for(partner_encoding="utf-8", explicit=None) == "utf-8-sig"
    assert codec_for(partner_encoding="gb18030", explicit=None) == "gb18030"
    assert codec_for(partner_encoding="utf-8", explicit="GBK") == "gb18030"
    with pytest.raises(FileRejected):
        codec_for(partner_encoding="utf-8", explicit="latin-1")


def test_header_check():
    header_check(KINDS["reversals"], ["amount", "txn_no", "reversed_on", "reverses_txn_no"])
    with pytest.raises(FileRejected, match="repeated column"):
        header_check(KINDS["reversals"], ["amount", "txn_no", "reversed_on",
                                          "reverses_txn_no", "txn_no"])


def test_reader_crlf_bom_quotes():
    data = '\ufefftxn_no,reverses_txn_no,reversed_on,amount,reason\r\n' \
           'V1,T1,2026-11-30,1.00,"多行\r\n原因, 含逗号"\r\nV2,T2,2026-11-30,2.00,\r\n'
    reader = RowReader(io.BytesIO(data.encode("utf-8")), "utf-8-sig")
    assert reader.header(KINDS["reversals"])[0] == "txn_no"
    assert list(reader.rows) == [["V1", "T1", "2026-11-30", "1.00", "多行\r\n原因, 含逗号"],
                                 ["V2", "T2", "2026-11-30", "2.00", ""]]


@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                        blacklist_characters="\x00"),
                                 max_size=8), min_size=2, max_size=2), max_size=20))
def test_reader_reads_back_what_csv_wrote(rows):
    import csv

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["reason", "txn_no"])
    w.writerows(rows)
    reader = RowReader(io.BytesIO(out.getvalue().encode("gb18030")), "gb18030")
    reader.header(KINDS["reversals"]) if False else next(reader.rows)
    back = [r for r in reader.rows]
    expected = [r if r != ["", ""] else r for r in rows]
    # csv writes a row of two empty fields as ',' which reads back as ['', '']
    assert back == expected
