"""Figures a platform's balances file gets wrong for days on end, in the demo (issue 22: "open
breaks of more than a day").

The demo's platforms write their balances file from what the bank's books say, so apart from
a payment sent in today's file (a timing difference the next day's file clears) every figure
agrees. A real platform's figure sometimes disagrees for days: a fee its system booked as
interest, a payment it shows but never sent in a repayments file. These are such cases, each
on one loan of the platform (its earliest-disbursed loans that keep paying, `dispute_loans`),
written into the balances rows of the business days in their window and nowhere else: the
files go through intake and the run's reconciliation like any file, which opens the break,
ages it every day it is seen again and closes it by itself ("no longer differs") on the first
day the platform's figure agrees again.

Relative to the demo's last day `end` (calendar days; only business days have files):
- ALPHA's interest 12.34 too high from end−14 to end−7, then corrected by the platform: a break
  of about a week that the next day's file clears;
- ALPHA's principal 200.00 too low from end−8 on (a payment the platform shows but never sent):
  open at the end, 6+ days old;
- BETA's interest 8.80 too high from end−3 on (a rate the bank has not agreed): open at the
  end, 3–5 days old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Dispute:
    partner: str
    pick: int  # which of the partner's dispute loans (0 = the first)
    first: int  # days before `end` the platform's figure starts to disagree
    last: int  # days before `end` it still disagrees (0: still at the end)
    column: int  # index in a balances row: 2 principal, 3 interest, 4 penalty
    delta: Decimal  # theirs − ours
    story: str


DISPUTES = (
    Dispute("ALPHA", 0, 14, 7, 3, Decimal("12.34"),
            "the platform booked a service fee as interest; its fix reached a later file"),
    Dispute("ALPHA", 1, 8, 0, 2, Decimal("-200.00"),
            "the platform shows a payment it never sent in a repayments file"),
    Dispute("BETA", 0, 3, 0, 3, Decimal("8.80"),
            "the platform charges interest at a rate the bank has not agreed"),
)


def dispute_loans(partner_id: int, n: int) -> list[str]:
    """The loan numbers of the partner's `n` earliest-disbursed loans with a term of 12 months
    or more whose borrower pays (lowest loan number first): the same loans every day, still
    open at the demo's end."""
    from lending.demo import is_defaulter
    from lending.models import Loan

    out: list[str] = []
    for loan_no in (Loan.objects.filter(partner_id=partner_id, term_months__gte=12)
                    .order_by("disbursed_on", "loan_no").values_list("loan_no", flat=True)
                    .iterator(chunk_size=200)):
        if not is_defaulter(loan_no):
            out.append(loan_no)
            if len(out) == n:
                break
    return out


def disputed(day: date, partner_id: int, code: str, end: date) -> dict[str, tuple[int, Decimal]]:
    """loan_no → (column, theirs − ours) of the disputes standing on `day`."""
    standing = [d for d in DISPUTES if d.partner == code
                and end - timedelta(days=d.first) <= day <= end - timedelta(days=d.last)]
    if not standing:
        return {}
    loans = dispute_loans(partner_id, max(d.pick for d in standing) + 1)
    return {loans[d.pick]: (d.column, d.delta) for d in standing if d.pick < len(loans)}


def balances_disputed(rows: list[tuple], day: date, partner_id: int, code: str,
                      end: date) -> list[tuple]:
    """The balances rows with the disputes standing on `day` written in (amounts as text)."""
    wrong = disputed(day, partner_id, code, end)
    out = []
    for row in rows:
        if row[0] in wrong:
            column, delta = wrong[row[0]]
            row = (*row[:column], f"{Decimal(row[column]) + delta:.2f}", *row[column + 1:])
        out.append(row)
    return out


_FIELDS = {2: "PRINCIPAL", 3: "INTEREST", 4: "PENALTY"}


def dispute_breaks(end: date) -> list:
    """The breaks the disputes opened (each dispute's loan and field, first seen in its
    window), oldest first."""
    from lending.reconciliation.models import Break
    from partners.models import Partner

    out = []
    for d in DISPUTES:
        partner = Partner.objects.filter(code=d.partner).first()
        loans = dispute_loans(partner.pk, d.pick + 1) if partner else []
        if len(loans) > d.pick:
            out += (Break.objects.filter(partner=partner, loan_no=loans[d.pick],
                                        field=_FIELDS[d.column],
                                        business_date__range=(end - timedelta(days=d.first),
                                                              end - timedelta(days=d.last)))
                    .select_related("partner"))
    return sorted(out, key=lambda b: (b.business_date, b.pk))
