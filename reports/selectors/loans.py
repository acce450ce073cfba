"""The loan page: shares, schedule, repayments with their allocation, movements, breaks,
claims and the journal entries its movements went into."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from ledger.models import JournalEntry
from lending.models import Loan
from lending.reconciliation.models import Break
from lending.settlement import posting
from lending.settlement.models import SettlementRun
from reports.selectors.common import ZERO


@dataclass
class LoanView:
    loan: Loan
    shares: list
    installments: list
    repayments: list[dict]
    movements: list[dict]
    breaks: list[Break]
    claims: list
    entries: list[JournalEntry]


def loan_detail(*, loan_id: int) -> LoanView:
    """A loan with its shares, schedule, repayments (each with its allocation per component
    and funder), movements, breaks, claims and the journal entries its movements went into."""
    loan = Loan.objects.select_related("partner", "program", "agreement_version").get(pk=loan_id)
    shares = list(loan.shares.select_related("funder").order_by("funder__kind", "funder__code"))
    with connection.cursor() as cur:
        cur.execute(
            """SELECT m.business_date, m.run_id, m.program_id, m.funder_id, f.code, m.event,
                      m.component, m.amount, m.installment_seq, m.txn_id, r.txn_no, m.reversal
                 FROM lending_movement m JOIN partners_partner f ON f.id = m.funder_id
                 LEFT JOIN lending_stagedrepayment r ON r.id = m.txn_id
                WHERE m.loan_id = %s ORDER BY m.business_date, m.id""", [loan.pk])
        movements = [dict(zip(("business_date", "run_id", "program_id", "funder_id", "funder",
                               "event", "component", "amount", "installment_seq", "txn_id",
                               "txn_no", "reversal"), row, strict=True))
                     for row in cur.fetchall()]
        cur.execute(
            """SELECT id, txn_no, paid_on, amount, payer, kind, status, business_date
                 FROM lending_stagedrepayment WHERE partner_id = %s AND loan_no = %s
                ORDER BY business_date, txn_no""", [loan.partner_id, loan.loan_no])
        repayments = [dict(zip(("id", "txn_no", "paid_on", "amount", "payer", "kind", "status",
                                "business_date"), row, strict=True))
                      for row in cur.fetchall()]
    by_txn: dict[int, list[dict]] = defaultdict(list)
    for m in movements:
        if m["txn_id"]:
            by_txn[m["txn_id"]].append(m)
    for r in repayments:
        r["allocation"] = by_txn.get(r["id"], [])
        r["allocated"] = sum((m["amount"] for m in r["allocation"]), ZERO)
    sources = {f"mv:{m['run_id']}:{m['program_id']}:{m['funder_id']}:{m['event']}:"
               f"{m['component']}:{int(m['reversal'])}" for m in movements}
    runs = {m["run_id"] for m in movements}
    keys = [posting.run_key(r) for r in SettlementRun.objects.filter(pk__in=runs)
            .select_related("partner")]
    entries = list(JournalEntry.objects.filter(
        source_run__in=keys, lines__source__in=sources).select_related("book").distinct()
        .order_by("business_date", "pk"))
    return LoanView(loan=loan, shares=shares,
                    installments=list(loan.installments.order_by("seq")),
                    repayments=repayments, movements=movements,
                    breaks=list(loan.breaks.order_by("-business_date", "kind")),
                    claims=list(loan.claims.select_related("guarantor")), entries=entries)
