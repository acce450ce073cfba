"""Write partner files (data + control) as the contract specifies: what a partner would send.

Used by the demo, the settlement benchmark and the golden tests, so that every one of them
goes through the real intake path.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

HEADERS = {
    "loans": ("loan_no", "program_code", "borrower_ref", "principal", "annual_rate",
              "term_months", "repayment_method", "disbursed_on", "first_due_on",
              "bank_approval_ref"),
    "repayments": ("txn_no", "loan_no", "paid_on", "amount", "payer", "kind"),
    "reversals": ("txn_no", "reverses_txn_no", "reversed_on", "amount", "reason"),
    "balances": ("loan_no", "as_of", "principal_outstanding", "interest_outstanding",
                 "penalty_outstanding", "dpd", "status"),
}
MAIN_AMOUNT = {"loans": "principal", "repayments": "amount", "reversals": "amount",
               "balances": "principal_outstanding"}


def file_name(partner: str, kind: str, business_date: date) -> str:
    return f"{partner}_{kind}_{business_date:%Y%m%d}.csv"


def partner_file_build(
    *, partner: str, kind: str, business_date: date, rows: Iterable[Sequence],
    encoding: str = "utf-8",
) -> tuple[str, bytes, bytes]:
    """(name, data, control) for rows given in HEADERS[kind] order."""
    header = HEADERS[kind]
    main = header.index(MAIN_AMOUNT[kind])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    count, total = 0, Decimal("0.00")
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
        count += 1
        total += Decimal(str(row[main]))
    data = buf.getvalue().encode(encoding)
    control = json.dumps({
        "partner": partner, "kind": kind, "business_date": business_date.isoformat(),
        "rows": count, "amount_total": str(total), "sha256": hashlib.sha256(data).hexdigest(),
    }).encode()
    return file_name(partner, kind, business_date), data, control


def partner_files_import(*, partner: str, business_date: date, files: dict[str, list],
                         encoding: str = "utf-8") -> dict[str, dict]:
    """Build and import one file per kind (empty kinds too): the day's delivery."""
    from lending.intake.services import partner_file_import

    out = {}
    for kind in HEADERS:
        name, data, ctl = partner_file_build(partner=partner, kind=kind,
                                             business_date=business_date,
                                             rows=files.get(kind, []), encoding=encoding)
        result = partner_file_import(name=name, data=io.BytesIO(data), control=ctl,
                                     channel="COMMAND", sent_by_label="writer")
        out[kind] = result.as_dict()
    return out
