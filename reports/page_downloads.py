"""Downloads of the report pages with several tables (issue 22, exports: "every list and report
above downloads as CSV … and XLSX"): a counterparty's day (its running balance and each
platform's statement lines), a loan (shares, schedule, repayments, movements, breaks, journal
entries), a journal entry's lines and a journal line's movements. XLSX: every table of the page, one sheet each (`?download=xlsx`); CSV: one of them
(`?download=csv&table=<name>`). A query parameter of the page's own route, as the dashboard's
(reports.dashboard_export): a new route would be a new row of docs/permissions.md's matrix."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, StreamingHttpResponse

from reports import exports
from reports.selectors import CounterpartyDay, EntryView, LoanView


def download(tables: dict[str, Callable[[], exports.Table]], fmt: str, table: str | None,
             name: str) -> StreamingHttpResponse:
    """XLSX without `table`: every table, one sheet each, as `name`.xlsx. Otherwise the table
    named `table` (default: the first) in `fmt`."""
    if fmt == "xlsx" and not table:
        return exports.xlsx_response([build() for build in tables.values()], f"{name}.xlsx")
    build = tables.get(table or next(iter(tables)))
    if build is None:
        raise Http404(f"no table {table!r}; {', '.join(tables)}")
    return exports.download(build(), fmt)


def counterparty_day_tables(day: CounterpartyDay) -> dict[str, Callable[[], exports.Table]]:
    stem = f"{day.counterparty.code}-{day.business_date}"

    def balance() -> exports.Table:
        rows = [(day.counterparty.code, day.business_date, code, name, amount)
                for code, name, amount in day.balance_rows]
        rows.append((day.counterparty.code, day.business_date, "TOTAL", "running balance",
                     day.balance["TOTAL"]))
        rows.append((day.counterparty.code, day.business_date, "TOTAL_TO_DAY",
                     "of which posted up to the day", day.balance_as_of_day))
        return exports.Table(f"balance-{stem}", ["counterparty", "business_date", "account",
                                                 "name", "debit_minus_credit"], rows,
                             money=frozenset({"debit_minus_credit"}), sheet="Running balance")

    def lines() -> exports.Table:
        rows = []
        for v in day.statements:
            st = v.statement
            rows += [(st.business_date, st.counterparty.code, st.run.partner.code,
                      st.payment_reference, st.status,
                      r["program"].code if r["program"] else "",
                      r["program"].name if r["program"] else "", r["line"].line_type,
                      r["component"], r["line"].amount) for r in v.lines]
        rows.append((day.business_date, day.counterparty.code, "", "", "", "", "", "TOTAL", "",
                     day.total))
        return exports.Table(f"statement-lines-{stem}", [
            "business_date", "counterparty", "platform", "payment_reference", "status",
            "program_code", "program", "line_type", "component", "amount"], rows,
            money=frozenset({"amount"}), sheet="Statement lines")

    return {"balance": balance, "lines": lines}


def loan_tables(view: LoanView) -> dict[str, Callable[[], exports.Table]]:
    loan = view.loan
    stem = f"loan-{loan.partner.code}-{loan.loan_no}"

    def table(name: str, header: list[str], rows, money: set[str], sheet: str):
        return lambda: exports.Table(f"{stem}-{name}", ["loan_no", *header],
                                     [(loan.loan_no, *r) for r in rows],
                                     money=frozenset(money), sheet=sheet)

    share_money = ["funded_principal", "principal_outstanding", "interest_outstanding",
                   "penalty_outstanding", "compound_outstanding", "claimed_amount",
                   "written_off_amount", "recovered_amount"]
    due = ["principal_due", "interest_due", "principal_paid", "interest_paid",
           "penalty_unpaid", "penalty_paid", "compound_unpaid", "compound_paid"]
    return {
        "shares": table("shares", ["funder", "ratio", *share_money],
                        [(s.funder.code, s.ratio, *(getattr(s, f) for f in share_money))
                         for s in view.shares], set(share_money), "Shares"),
        "schedule": table("schedule", ["seq", "due_on", *due, "status"],
                          [(i.seq, i.due_on, *(getattr(i, f) for f in due), i.status)
                           for i in view.installments], set(due), "Schedule"),
        "repayments": table(
            "repayments", ["txn_no", "paid_on", "business_date", "payer", "kind", "status",
                           "amount", "allocated"],
            [(r["txn_no"], r["paid_on"], r["business_date"], r["payer"], r["kind"],
              r["status"], r["amount"], r["allocated"]) for r in view.repayments],
            {"amount", "allocated"}, "Repayments"),
        "movements": table(
            "movements", ["business_date", "event", "component", "funder", "txn_no",
                          "installment_seq", "reversal", "amount"],
            [(m["business_date"], m["event"], m["component"], m["funder"], m["txn_no"] or "",
              m["installment_seq"], m["reversal"], m["amount"]) for m in view.movements],
            {"amount"}, "Movements"),
        "breaks": table(
            "breaks", ["first_seen", "last_seen", "kind", "field", "ours", "theirs",
                       "difference", "status", "resolution_note"],
            [(b.business_date, b.last_seen_on, b.kind, b.field, b.ours, b.theirs,
              b.difference, b.status, b.resolution_note) for b in view.breaks],
            {"difference"}, "Breaks"),
        "entries": table(
            "entries", ["entry_id", "business_date", "book", "purpose", "source_run", "memo"],
            [(e.pk, e.business_date, e.book.code, e.purpose, e.source_run, e.memo)
             for e in view.entries], set(), "Journal entries"),
    }


def entry_tables(view: EntryView) -> dict[str, Callable[[], exports.Table]]:
    """A journal entry's lines with the movements each was posted from (count and Σ)."""
    e = view.entry
    rows = [(e.pk, e.business_date, e.book.code, e.purpose, r["line"].pk, r["line"].account.code,
             r["line"].program, r["line"].counterparty, r["line"].debit, r["line"].credit,
             r["movements"], r["movement_total"]) for r in view.lines]
    return {"lines": lambda: exports.Table(
        f"journal-entry-{e.pk}", ["entry_id", "business_date", "book", "purpose", "line_id",
                                  "account", "program", "counterparty", "debit", "credit",
                                  "movements", "movement_total"], rows,
        money=frozenset({"debit", "credit", "movement_total"}), sheet="Journal entry")}


def journal_line_tables(line, rows: list[dict]) -> dict[str, Callable[[], exports.Table]]:
    """The movements a journal line was posted from, per loan."""
    return {"movements": lambda: exports.Table(
        f"journal-line-{line.pk}-movements",
        ["journal_line_id", "loan_no", "txn_no", "installment_seq", "amount"],
        [(line.pk, r["loan_no"], r["txn_no"] or "", r["installment_seq"], r["amount"])
         for r in rows], money=frozenset({"amount"}), sheet="Movements")}
