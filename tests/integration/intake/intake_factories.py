"""Small factories for intake tests: a partner with an agreement, a program and loans, and
partner files with their control files. Loaded by the intake conftests by path."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from lending.models import (
    Agreement,
    AgreementFunder,
    AgreementVersion,
    Loan,
    Program,
)
from partners.models import Partner

BDATE = date(2026, 11, 30)
AMOUNT_RE = re.compile(r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$")
MAIN = {"loans": "principal", "repayments": "amount", "reversals": "amount",
        "balances": "principal_outstanding"}
HEADERS = {
    "loans": ["loan_no", "program_code", "borrower_ref", "principal", "annual_rate",
              "term_months", "repayment_method", "disbursed_on", "bank_approval_ref"],
    "repayments": ["txn_no", "loan_no", "paid_on", "amount", "payer", "kind"],
    "reversals": ["txn_no", "reverses_txn_no", "reversed_on", "amount", "reason"],
    "balances": ["loan_no", "as_of", "principal_outstanding", "interest_outstanding",
                 "penalty_outstanding", "dpd", "status"],
}


def make_partner(code: str = "ALPHA", *, encoding: str = "utf-8", bank_ratio: str = "0.70"):
    """A platform with one ACTIVE agreement version (bank + platform) and program P1."""
    User = get_user_model()
    bank = Partner.objects.get(kind="BANK")
    platform = Partner.objects.create(code=code, legal_name=f"{code} Platform",
                                      kind="PLATFORM", file_encoding=encoding)
    maker = User.objects.create_user(f"maker_{code.lower()}", password="x-pass-1234")
    checker = User.objects.create_user(f"checker_{code.lower()}", password="x-pass-1234")
    agreement = Agreement.objects.create(code=f"AG_{code}", name=f"{code} agreement",
                                         platform=platform)
    version = AgreementVersion.objects.create(
        agreement=agreement, version=1, effective_from=date(2026, 1, 1),
        residual_owner=platform, created_by=maker,
    )
    ratio = Decimal(bank_ratio)
    AgreementFunder.objects.create(version=version, funder=bank, principal_ratio=ratio)
    AgreementFunder.objects.create(version=version, funder=platform, principal_ratio=1 - ratio)
    AgreementVersion.objects.filter(pk=version.pk).update(
        status="ACTIVE", approved_by=checker, approved_at=timezone.now()
    )
    version.refresh_from_db()
    program = Program.objects.create(
        partner=platform, agreement=agreement, code="P1", name="Program one",
        repayment_methods=["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "DAILY"],
        min_annual_rate=Decimal("0.05"), max_annual_rate=Decimal("0.24"),
        max_principal=Decimal("50000.00"), max_term_months=24,
    )
    return platform, version, program


def make_loan(partner, program, version, loan_no: str, *, state: str = "ACTIVE",
              principal: str = "10000.00") -> Loan:
    return Loan.objects.create(
        partner=partner, loan_no=loan_no, program=program, agreement_version=version,
        borrower_token="0" * 64, principal=Decimal(principal), annual_rate=Decimal("0.12"),
        term_months=12, repayment_method="EQUAL_INSTALLMENT", disbursed_on=date(2026, 6, 1),
        bank_approval_ref="BA-1", bank_ratio=Decimal("0.70"),
        principal_outstanding=Decimal(principal), booked_on=date(2026, 6, 1), state=state,
    )


def control_for(data: bytes, partner: str, kind: str, bdate: date, rows: int,
                total: Decimal) -> dict:
    return {"partner": partner, "kind": kind, "business_date": bdate.isoformat(),
            "rows": rows, "amount_total": str(total),
            "sha256": hashlib.sha256(data).hexdigest()}


def build_file(kind: str, rows: list[list[str]], *, partner: str = "ALPHA", bdate: date = BDATE,
               header: list[str] | None = None, encoding: str = "utf-8", bom: bool = False,
               crlf: bool = False, ctl: dict | None = None) -> tuple[str, bytes, bytes]:
    """(name, data bytes, control bytes) of a file; the control matches unless overridden."""
    header = header or HEADERS[kind]
    nl = "\r\n" if crlf else "\n"

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v

    text = nl.join(",".join(cell(v) for v in r) for r in [header, *rows]) + nl
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
    mi = header.index(MAIN[kind]) if MAIN[kind] in header else None
    total = sum((Decimal(r[mi]) for r in rows
                 if mi is not None and len(r) == len(header) and AMOUNT_RE.match(r[mi])),
                Decimal("0"))  # a row with the wrong number of fields is not parsed
    control = control_for(data, partner, kind, bdate, len(rows), total)
    control.update(ctl or {})
    name = f"{partner}_{kind}_{bdate:%Y%m%d}.csv"
    return name, data, json.dumps(control).encode()


def write_file(tmp_path: Path, kind: str, rows: list[list[str]], *, with_ctl: bool = True,
               **kw) -> Path:
    name, data, control = build_file(kind, rows, **kw)
    path = tmp_path / name
    path.write_bytes(data)
    if with_ctl:
        (tmp_path / (name + ".ctl")).write_bytes(control)
    return path


def import_bytes(name: str, data: bytes, control: bytes | None, **kw):
    import io

    from lending.intake.services import partner_file_import

    return partner_file_import(name=name, data=io.BytesIO(data), control=control,
                               channel="COMMAND", **kw)


def import_rows(kind: str, rows: list[list[str]], *, encoding_option: str | None = None, **kw):
    name, data, control = build_file(kind, rows, **kw)
    return import_bytes(name, data, control, encoding=encoding_option)


STAGED = {"loans": ("lending_stagedloan", "principal"),
          "repayments": ("lending_stagedrepayment", "amount"),
          "reversals": ("lending_stagedreversal", "amount"),
          "balances": ("lending_stagedbalance", "principal_outstanding")}


def staged_totals(kind: str, file_id: int) -> tuple[int, Decimal]:
    from django.db import connection

    table, col = STAGED[kind]
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*), coalesce(sum({col}), 0) FROM {table} "  # noqa: S608
                    "WHERE file_id = %s", [file_id])
        return cur.fetchone()


def assert_balanced(file_id: int) -> None:
    """The contract's invariant for an accepted file: rows = staged + quarantined and the
    staged amounts = control total - quarantined amounts (computed from the tables)."""
    from django.db.models import Count, Sum

    from partners.models import InboundFile, QuarantinedRow

    f = InboundFile.objects.get(pk=file_id)
    assert f.status == "ACCEPTED"
    n, staged_sum = staged_totals(f.kind, f.pk)
    q = QuarantinedRow.objects.filter(file=f, stage="INTAKE").aggregate(
        n=Count("id"), s=Sum("amount"))
    assert f.rows == n + q["n"]
    assert staged_sum == f.amount_total - (q["s"] or 0)
    assert (f.staged_count, f.quarantined_count) == (n, q["n"])


def nothing_staged() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM lending_stagedloan) + "
                    "(SELECT count(*) FROM lending_stagedrepayment) + "
                    "(SELECT count(*) FROM lending_stagedreversal) + "
                    "(SELECT count(*) FROM lending_stagedbalance) + "
                    "(SELECT count(*) FROM partners_quarantinedrow)")
        return cur.fetchone()[0] == 0


def run_references(partner: str = "ALPHA", bdate: date = BDATE) -> dict[str, int]:
    """The run's first step for the partner and date (lending.settlement.references): the
    checks against other files, quarantined at stage APPLY."""
    from lending.settlement.references import references_check

    return references_check(partner_id=Partner.objects.get(code=partner).pk,
                            business_date=bdate)
