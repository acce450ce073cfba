"""Journal entries back to the movements they were posted from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from ledger.models import JournalEntry, JournalLine
from reports.selectors.common import DRILL_PAGE

MOVEMENT_SOURCE = re.compile(
    r"^mv:(?P<run>[0-9]+):(?P<program>[0-9]+):(?P<funder>[0-9]+):(?P<event>[A-Z_]+)"
    r":(?P<component>[A-Z_]+):(?P<reversal>[01])$")


@dataclass
class EntryView:
    entry: JournalEntry
    lines: list[dict]  # {"line": JournalLine, "movements": n, "movement_total": Σ or None}


def _source_filter(source: str) -> tuple[str, list] | None:
    m = MOVEMENT_SOURCE.match(source)
    if not m:
        return None
    return ("m.run_id = %s AND m.program_id = %s AND m.funder_id = %s AND m.event = %s"
            " AND m.component = %s AND m.reversal = %s",
            [int(m["run"]), int(m["program"]), int(m["funder"]), m["event"], m["component"],
             m["reversal"] == "1"])


def journal_entry_detail(*, entry_id: int) -> EntryView:
    """A journal entry's lines, each with the count and Σ of the movements it was posted from
    (a line's amount is Σ of its movement group; accrual lines have none)."""
    entry = JournalEntry.objects.select_related("book").get(pk=entry_id)
    lines = list(entry.lines.select_related("account").order_by("pk"))
    out = []
    with connection.cursor() as cur:
        for ln in lines:  # an entry has a few lines (one per movement group and side)
            where = _source_filter(ln.source)
            n = total = None
            if where:
                cur.execute(f"SELECT count(*), SUM(m.amount) FROM lending_movement m "
                            f"WHERE m.business_date = %s AND {where[0]}",
                            [entry.business_date, *where[1]])
                n, total = cur.fetchone()
            out.append({"line": ln, "movements": n, "movement_total": total})
    return EntryView(entry=entry, lines=out)


def journal_line_movements(*, line_id: int, limit: int = DRILL_PAGE) -> tuple[JournalLine,
                                                                                list[dict]]:
    """The movements a journal line was posted from, per loan (loan no, txn_no, amount)."""
    line = JournalLine.objects.select_related("entry__book", "account").get(pk=line_id)
    where = _source_filter(line.source)
    if where is None:
        return line, []
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT m.loan_id, l.loan_no, r.txn_no, m.installment_seq, m.amount
                  FROM lending_movement m JOIN lending_loan l ON l.id = m.loan_id
                  LEFT JOIN lending_stagedrepayment r ON r.id = m.txn_id
                 WHERE m.business_date = %s AND {where[0]}
                 ORDER BY l.loan_no, m.id LIMIT %s""",
            [line.entry.business_date, *where[1], limit])
        rows = [dict(zip(("loan_id", "loan_no", "txn_no", "installment_seq", "amount"), r,
                         strict=True)) for r in cur.fetchall()]
    return line, rows
