"""Step 6 (post), 7 (settle) and the fingerprint: batch journals from the sub-ledger.

Posting aggregates the run's movements per (book, program, event, reversal) into balanced
entries: each line is Σ of per-loan rounded movement amounts, never a rounded total, and its
`source` names the movement group it came from (drill-down: lending.selectors).
Accruals are not movements: each (book, program)'s interest receivable, penalty receivable and
off-balance interest are set to the derived sub-ledger total (lending_share_positions, read from
the run's positions snapshot) by
posting the delta against the GL balance, so a rerun posts nothing.

The bank's share posts to BANK_GL; every other funder's share to its memo book MEMO_<CODE>.
Which accounts a movement group posts to, and which statement line it makes, is the table in
`lending.settlement.posting_rules` (printed by `manage.py posting_rules`).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from decimal import Decimal

from django.db import connection

from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.domain import chart
from ledger.domain.drafts import EntryDraft, LineDraft
from lending.settlement import positions
from lending.settlement import posting_rules as rules
from lending.settlement.models import SettlementRun, Statement, StatementLine

ZERO = Decimal("0.00")

# The statement lines per (funder is bank, event), derived from the posting table in the shape
# reports.selectors reads them (the drill-down from a line to its movements).
_PLATFORM_LINES = rules.legacy_line_table(rules.PLATFORM)
_GUARANTOR_LINES = rules.legacy_line_table(rules.GUARANTOR)


def program_dimension(partner_code: str, program_code: str) -> str:
    return f"{partner_code}/{program_code}"


def _context(run: SettlementRun) -> dict:
    with connection.cursor() as cur:
        cur.execute("""SELECT g.id, g.code, a.guarantor_id FROM lending_program g
                         JOIN lending_agreement a ON a.id = g.agreement_id
                        WHERE g.partner_id = %s""", [run.partner_id])
        programs = {pid: (code, gid) for pid, code, gid in cur.fetchall()}
        cur.execute("SELECT id, code, kind FROM partners_partner")
        partners = {pid: (code, kind) for pid, code, kind in cur.fetchall()}
    return {"programs": programs, "partners": partners, "books": {}}


def _book_of(funder_id: int, ctx: dict) -> str:
    """The funder's book; a partner's memo book is made sure of once per run (``ctx``), not
    once per movement group (each time a get-or-create of the book and its accounts)."""
    books = ctx["books"]
    if funder_id not in books:
        code, kind = ctx["partners"][funder_id]
        if kind == "BANK":
            books[funder_id] = chart.BANK_GL
        else:
            books[funder_id] = ledger.memo_book_ensure(partner_code=code).code
    return books[funder_id]


def run_key(run: SettlementRun) -> str:
    return f"settle:{run.business_date:%Y-%m-%d}:{run.partner.code}"


def post_run(run: SettlementRun) -> dict:
    """Post the run's movement groups and the accrual deltas; idempotent by entry keys."""
    ctx = _context(run)
    partners, programs = ctx["partners"], ctx["programs"]
    partner_code = run.partner.code
    with connection.cursor() as cur:
        cur.execute(
            """SELECT program_id, funder_id, event, component, reversal, SUM(amount)
                 FROM lending_movement WHERE business_date = %s AND run_id = %s
                GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""", [run.business_date, run.pk])
        groups = cur.fetchall()
    entries: dict[tuple, list[LineDraft]] = defaultdict(list)
    for program_id, funder_id, event, component, reversal, amount in groups:
        if not amount:
            continue
        program_code, guarantor_id = programs[program_id]
        dim = program_dimension(partner_code, program_code)
        rule = rules.rule_for(event, component,
                              rules.funder_kind(funder_id, partners[funder_id][1], guarantor_id))
        roles = {rules.PLATFORM: partner_code, rules.GUARANTOR: partners[guarantor_id][0]
                 if guarantor_id else "", rules.NONE: ""}
        source = f"mv:{run.pk}:{program_id}:{funder_id}:{event}:{component}:{int(reversal)}"
        targets = []
        if rule.gl is not None:
            targets.append((chart.BANK_GL, rule.gl))
        if rule.memo is not None:
            targets.append((_book_of(funder_id, ctx), rule.memo))
        for book, posting in targets:
            dr, dr_role, cr, cr_role = (posting.debit, posting.debit_role, posting.credit,
                                        posting.credit_role)
            if amount < 0:  # a reversal group: the mirror lines
                dr, dr_role, cr, cr_role = cr, cr_role, dr, dr_role
            amt = abs(amount)
            key = (book, program_code, dim, event, reversal)
            entries[key].append(LineDraft.dr(dr, amt, program=dim,
                                             counterparty=roles[dr_role], source=source))
            entries[key].append(LineDraft.cr(cr, amt, program=dim,
                                             counterparty=roles[cr_role], source=source))
    day = run.business_date
    drafts = [
        EntryDraft(book=book, business_date=day,
                   idempotency_key=f"{run_key(run)}:{book}:{program_code}:{event}"
                                   f":{'REV' if reversal else 'ORIG'}",
                   purpose=f"{'REVERSAL_' if reversal else ''}{event}",
                   lines=tuple(lines), source_run=run_key(run))
        for (book, program_code, _dim, event, reversal), lines in sorted(entries.items())
    ]
    events = ledger.journal_entries_post(drafts=drafts)
    accruals = ledger.journal_entries_post(drafts=accrual_drafts(run, ctx))
    return {"event_entries": events.posted_count, "accrual_entries": accruals.posted_count,
            "skipped": events.skipped_count + accruals.skipped_count,
            "lines": events.line_count + accruals.line_count}


def _gl_balances(accounts: list[str], programs: list[str], as_of) -> dict:
    """(book, account, program) → debit − credit over every entry dated ≤ as_of."""
    return ledger_selectors.balances_by_book_account_program(
        accounts=accounts, programs=programs, as_of=as_of)


def subledger_targets(partner_id: int, as_of) -> dict:
    """(funder_id, program_id) → accruing interest, accruing penalty, non-accruing total."""
    relation, params = positions.source(partner_id, as_of)
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT funder_id, program_id,
                      SUM(interest) FILTER (WHERE accruing),
                      SUM(penalty + compound) FILTER (WHERE accruing),
                      SUM(interest + penalty + compound) FILTER (WHERE NOT accruing),
                      SUM(principal)
                 FROM {relation}
                GROUP BY 1, 2""", params)
        return {(f, p): tuple(v or ZERO for v in rest) for f, p, *rest in cur.fetchall()}


def accrual_drafts(run: SettlementRun, ctx: dict) -> list[EntryDraft]:
    programs = ctx["programs"]
    partner_code = run.partner.code
    day = run.business_date
    targets = subledger_targets(run.partner_id, day)
    dims = [program_dimension(partner_code, code) for code, _ in programs.values()]
    accounts = [account for account, _income, _what in rules.ACCRUALS]
    gl = _gl_balances(accounts, dims, day)
    drafts = []
    for (funder_id, program_id), (interest, penalty, off, _principal) in sorted(targets.items()):
        book = _book_of(funder_id, ctx)
        code = programs[program_id][0]
        dim = program_dimension(partner_code, code)
        lines: list[LineDraft] = []
        for (account, income, _what), target in zip(rules.ACCRUALS, (interest, penalty, off),
                                                     strict=True):
            delta = target - gl.get((book, account, dim), ZERO)
            if delta > 0:
                lines += [LineDraft.dr(account, delta, program=dim, source="accrual"),
                          LineDraft.cr(income, delta, program=dim, source="accrual")]
            elif delta < 0:
                lines += [LineDraft.dr(income, -delta, program=dim, source="accrual"),
                          LineDraft.cr(account, -delta, program=dim, source="accrual")]
        if lines:
            drafts.append(EntryDraft(
                book=book, business_date=day,
                idempotency_key=f"{run_key(run)}:{book}:{code}:ACCRUAL", purpose="ACCRUAL",
                lines=tuple(lines), source_run=run_key(run)))
    return drafts


# --- Step 7: the net settlement statements ------------------------------------------------------

def statements_build(run: SettlementRun) -> list[Statement]:
    """Net settlement per counterparty for the run's partner and day, from the run's movements.
    Each statement is the run's own (one per run and counterparty): a guarantor that serves
    several platforms gets one per platform, and no other run's statement is touched."""
    ctx = _context(run)
    partners, programs = ctx["partners"], ctx["programs"]
    with connection.cursor() as cur:
        cur.execute(
            """SELECT m.program_id, m.funder_id, m.event, m.component, m.reversal,
                      SUM(m.amount)
                 FROM lending_movement m WHERE m.business_date = %s AND m.run_id = %s
                GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""", [run.business_date, run.pk])
        groups = cur.fetchall()
    lines: dict[int, dict[tuple, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for program_id, funder_id, event, component, reversal, amount in groups:
        guarantor_id = programs[program_id][1]
        rule = rules.rule_for(event, component,
                              rules.funder_kind(funder_id, partners[funder_id][1], guarantor_id))
        for cp_id, specs in ((run.partner_id, rule.platform_lines),
                             (guarantor_id, rule.guarantor_lines)):
            if cp_id is None:
                continue
            for kind, sign in specs:
                if reversal:
                    kind = "REVERSAL_" + kind
                lines[cp_id][(kind, program_id)] += sign * amount
    out = []
    for cp_id in sorted(set(lines) | {run.partner_id}):
        net = sum(lines[cp_id].values(), ZERO)
        st, _ = Statement.objects.update_or_create(
            run=run, counterparty_id=cp_id,
            defaults={"business_date": run.business_date, "net_amount": net},
        )
        st.lines.all().delete()
        StatementLine.objects.bulk_create(
            StatementLine(statement=st, line_type=kind, program_id=pid, amount=amt,
                          description=f"{kind.replace('_', ' ').lower()} "
                                      f"({programs[pid][0]})")
            for (kind, pid), amt in sorted(lines[cp_id].items()) if amt
        )
        out.append(st)
    return out


# A movement line's source is `mv:<run id>:<program id>:<funder id>:<event>:<component>:<rev>`
# (the drill-down to the movements). Ids depend on the order rows were made in, so the
# fingerprint reads it with the run dropped and the program and funder as their codes.
_MOVEMENT_SOURCE = re.compile(r"mv:[0-9]+:([0-9]+):([0-9]+):")


def _sources_without_ids(sources: list[str]) -> dict[str, str | None]:
    """Movement source → `mv:<program code>:<funder code>:<event>:<component>:<rev>` (None when
    its program or funder is gone, as SQL's NULL || text); other sources are left out."""
    found = {s: m for s in sources if (m := _MOVEMENT_SOURCE.match(s))}
    program_ids = sorted({int(m[1]) for m in found.values()})
    funder_ids = sorted({int(m[2]) for m in found.values()})
    with connection.cursor() as cur:
        cur.execute("SELECT id, code FROM lending_program WHERE id = ANY(%s)", [program_ids])
        programs = dict(cur.fetchall())
        cur.execute("SELECT id, code FROM partners_partner WHERE id = ANY(%s)", [funder_ids])
        funders = dict(cur.fetchall())
    out: dict[str, str | None] = {}
    for source, m in found.items():
        program, funder = programs.get(int(m[1])), funders.get(int(m[2]))
        out[source] = (None if program is None or funder is None else
                       ":".join(["mv", program, funder, *source.split(":")[4:]]))
    return out


def fingerprint(business_date, partner_code: str | None = None) -> str:
    """SHA-256 of everything posted for the date, in a canonical order (no ids, no times)."""
    like = f"settle:{business_date:%Y-%m-%d}:{partner_code}" if partner_code else \
        f"settle:{business_date:%Y-%m-%d}:%"
    labels = _sources_without_ids(ledger_selectors.line_sources_list(
        business_date=business_date, source_run_like=like))
    digest = hashlib.sha256()
    for row in ledger_selectors.lines_canonical_list(
            business_date=business_date, source_run_like=like, source_labels=labels):
        digest.update("|".join(str(v) for v in row).encode())
        digest.update(b"\n")
    return digest.hexdigest()
