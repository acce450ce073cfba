"""The oracle's day (tests/oracle/test_oracle.py): a world's files imported and settled, and
every loan share, position, state, the GL loans receivable and the statement compared with the
model."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ledger.domain import chart
from ledger.selectors import UnknownLedgerObject, account_balance_get
from lending.intake.writer import partner_files_import
from lending.models import Loan, Statement
from lending.settlement import runner
from partners.models import Partner
from tests.oracle.defects import KNOWN_DEFECTS
from tests.oracle.model import ORDER
from tests.oracle.world import RULES, World


def settle(world: World, day: date, files: dict):
    results = partner_files_import(partner=world.code, business_date=day, files=files)
    for kind, r in results.items():
        assert r["status"] == "ACCEPTED" and not r["quarantined"], (day, kind, r)
    run = runner.settlement_run(partner=Partner.objects.get(code=world.code), business_date=day)
    assert run.state == "DONE", (day, run.state, run.error, run.totals.get("check_problems"))
    world.last = day


def positions_of(day):
    from django.db import connection
    with connection.cursor() as cur:
        cur.execute(
            """SELECT l.loan_no, f.code, x.principal, x.interest, x.penalty + x.compound
                 FROM lending_share_positions(%s) x
                 JOIN lending_loan l ON l.id = x.loan_id
                 JOIN partners_partner f ON f.id = x.funder_id""", [day])
        out: dict = {}
        for no, fc, p, i, pc in cur.fetchall():
            out.setdefault(no, {})[fc] = (p, i, pc)
        return out


def same(got: dict, want: dict, cent_split: bool, cols: tuple[int, ...] = ()) -> bool:
    """Equal to the cent; with `cent_split`, each component's total equal and each funder's
    part within one cent; `cols`: only those components so (the others exact)."""
    cols = (0, 1, 2) if cent_split else cols
    if got == want or not cols or set(got) != set(want):
        return got == want
    for k in range(3):
        if sum(Decimal(v[k]) for v in got.values()) != sum(Decimal(v[k]) for v in want.values()):
            return False
        if any(abs(Decimal(got[f][k]) - Decimal(want[f][k])) > Decimal("0.01") * (k in cols)
               for f in got):
            return False
    return True


def position_cols(m) -> tuple[int, ...]:
    """The derived-position components whose funder split may be a cent apart (KNOWN_DEFECTS
    PENALTY_SPLIT, PF_SPLIT; the loan's total is exact)."""
    return tuple(k for k, on in ((1, "PF_SPLIT" in KNOWN_DEFECTS
                                  and m.s.interest_rule == "PER_FUNDER_RATE"),
                                 (2, "PENALTY_SPLIT" in KNOWN_DEFECTS)) if on)


def compare(world: World, day: date) -> list[str]:
    diffs = []
    pos = positions_of(day)
    gl_bank, gl_memo = Decimal(0), Decimal(0)
    stmt_expect: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}  # BANK_FIXED_YIELD: the model's fees to date, by loan
    losses: dict[str, dict] = {}  # written-off loans: write-off and recoveries to date
    claims: dict[str, tuple] = {}  # the model's claims: status, raised on, amount
    per_loan: dict[str, dict[str, Decimal]] = {}  # the model's bank collections by loan
    all_funders: dict[str, dict[str, Decimal]] = {}  # ... and every funder's, by loan
    for no, m in world.models.items():
        stt = world.model_state(no, day)
        loan = Loan.objects.get(loan_no=no)
        found = _loan_diffs(world, no, day, loan, stt, pos)
        diffs += found
        if stt.claim_raised is not None:
            claims[no] = ("PAID" if stt.claim_paid else "RAISED", stt.claim_raised,
                          stt.claim_amount)
        if stt.written_off:
            losses[no] = {(f, "WRITE_OFF", k): v for f, c in stt.written_off.items()
                          for k, v in c.items() if v}
            for r in stt.recovered.values():
                for f, a in r.items():
                    key = (f, "WO_RECOVERY", "PRINCIPAL")
                    losses[no][key] = losses[no].get(key, Decimal(0)) + a
        if m.s.interest_rule == "BANK_FIXED_YIELD" and not stt.fee_untracked:
            fees[no] = sum(stt.fees.values(), Decimal(0))
        gl_bank += stt.shares["BANK"]["PRINCIPAL"]
        gl_memo += stt.shares[world.code]["PRINCIPAL"]
        # the statement of business day `day` books what today's files changed: the model's
        # cumulative bank-share collections, advances and refunds with today's payments less
        # without them (payments carry their value date, §8.11)
        # ... and what the runs before today booked: the model through the last settled day
        # (a due date since then, e.g. an advance that closes the loan on a Sunday and its
        # refund, is today's run's too)
        old = m.run(world.before_day or day - timedelta(days=1), world.before.get(no, []),
                    world.crystal[no], world.icrystal[no])
        for sign, s_ in ((1, stt), (-1, old)):
            for coll in s_.collected.values():
                for (fc, comp), a in coll.items():
                    every = all_funders.setdefault(no, {})
                    every[comp] = every.get(comp, Decimal(0)) + sign * a
                    if fc == "BANK":
                        # the statement shows compound interest with penalty (posting_rules)
                        k = "COLLECTION_PENALTY" if comp == "COMPOUND" else f"COLLECTION_{comp}"
                        stmt_expect[k] = stmt_expect.get(k, Decimal(0)) + sign * a
                        mine = per_loan.setdefault(no, {})
                        mine[comp] = mine.get(comp, Decimal(0)) + sign * a
            rec = s_.recovered.values()
            stmt_expect["WRITE_OFF_RECOVERY"] = stmt_expect.get(
                "WRITE_OFF_RECOVERY", Decimal(0)) + sign * sum((r["BANK"] for r in rec), Decimal(0))
            for k, dct in (("OVERPAYMENT", s_.overpaid), ("REFUND", s_.refunded)):
                stmt_expect[k] = stmt_expect.get(k, Decimal(0)) + sign * sum(dct.values(), 0)
    diffs += _fees(world, day, fees)
    diffs += _losses(world, day, losses)
    diffs += _claims(world, day, claims)
    gl = {}
    for book, want in (("BANK_GL", gl_bank), (f"MEMO_{world.code}", gl_memo)):
        got = Decimal(0)
        for prog in RULES:
            try:
                got += account_balance_get(book=book, account=chart.LOANS_RECEIVABLE, as_of=day,
                                           program=f"{world.code}/{prog}").balance
            except UnknownLedgerObject:  # a book is opened by its first posting
                pass
        gl[book] = (got, want)
    # the split of a reversal (split_tolerant): each book within a cent per such loan, the
    # books together exact
    slack = Decimal("0.01") * len(world.split_tolerant)
    if sum(g for g, _ in gl.values()) != sum(w for _, w in gl.values()) or any(
            abs(g - w) > slack for g, w in gl.values()):
        for book, (got, want) in gl.items():
            diffs.append(f"{day} GL {book} loans receivable system={got} model={want}")
    st_ = Statement.objects.filter(counterparty__code=world.code, business_date=day).first()
    lines: dict[str, Decimal] = {}
    if st_ is not None:
        for ln in st_.lines.all():
            lines[ln.line_type] = lines.get(ln.line_type, Decimal(0)) + ln.amount
    # only the collection / advance / refund lines are modelled; reversal lines net in them
    got_lines = {}
    for k, v in lines.items():
        base = k.removeprefix("REVERSAL_")
        if base.startswith("COLLECTION_") or base in ("OVERPAYMENT", "REFUND",
                                                        "WRITE_OFF_RECOVERY"):
            # a statement line is signed from the partner's side (+ it pays the bank): the
            # refund the bank owes the borrower through it is negative
            got_lines[base] = got_lines.get(base, Decimal(0)) + (-v if base == "REFUND" else v)
    got_lines = {k: v for k, v in got_lines.items() if v}
    stmt_expect = {k: v for k, v in stmt_expect.items() if v}
    if got_lines != stmt_expect and not any(day in world.crystal[n] for n in world.models):
        by_loan = _collections_by_loan(world.code, day, per_loan, all_funders,
                                       world.split_tolerant)
        if by_loan or got_lines.keys() - {f"COLLECTION_{c}" for c in ORDER} != \
                stmt_expect.keys() - {f"COLLECTION_{c}" for c in ORDER} or any(
                got_lines.get(k) != v for k, v in stmt_expect.items()
                if not k.startswith("COLLECTION_")):
            diffs.append(f"{day} statement {world.code} system={got_lines} "
                         f"model={stmt_expect}")
            diffs.extend(by_loan)
            diffs.extend(_suspense_by_loan(world.code, day))
    return diffs


def _loan_detail(world: World, no: str, day: date) -> list[str]:
    """ORACLE_DEBUG=1: the model's instalments and the system's movements of `day`."""
    from lending.models import Installment, Movement
    stt = world.model_state(no, day)
    out = [f"model {no} {it}" for it in stt.insts]
    ln = Loan.objects.get(loan_no=no)
    out.append(f"system {no} accrual {ln.accrual_from}..{ln.accrual_to} {ln.accrual_amount} "
               f"billed {ln.billed_seq} penalty from {ln.penalty_from} base {ln.penalty_base}")
    out += [f"system {no} {i.seq} due {i.due_on} p {i.principal_due}/{i.principal_paid} "
            f"i {i.interest_due}/{i.interest_paid} {i.status}"
            for i in Installment.objects.filter(loan__loan_no=no).order_by("seq")]
    out += [f"system {no} move {m.business_date} {m.funder.code} {m.event} {m.component} {m.amount} "
            f"seq={m.installment_seq} txn={m.txn_id}"
            for m in Movement.objects.filter(loan__loan_no=no, business_date__gte=day - timedelta(40))
            .select_related("funder").order_by("id")]
    return out


def _collections_by_loan(code, day, bank_model, all_model, tolerated) -> list[str]:
    """The loans of world `code` (its platform's code) whose collections of `day` differ
    between system and model (earlier worlds' loans share the dates). A loan in
    `tolerated` (World.split_tolerant) may differ by a cent in the bank's part of a component
    when the component's total over all funders is equal (the split of a restored balance)."""
    from django.db.models import Sum

    from lending.models import Movement
    bank: dict[str, dict[str, Decimal]] = {}
    every: dict[str, dict[str, Decimal]] = {}
    for r in (Movement.objects.filter(business_date=day, event="COLLECT",
                                      loan__partner__code=code)
              .values("loan__loan_no", "funder__code", "component").annotate(a=Sum("amount"))):
        no, comp = r["loan__loan_no"], r["component"]
        e = every.setdefault(no, {})
        e[comp] = e.get(comp, Decimal(0)) + r["a"]
        if r["funder__code"] == "BANK":
            bank.setdefault(no, {})[comp] = r["a"]
    out = []
    for no in sorted(set(bank) | set(bank_model) | set(every) | set(all_model)):
        got = {k: v for k, v in bank.get(no, {}).items() if v}
        want = {k: v for k, v in bank_model.get(no, {}).items() if v}
        if got == want:
            continue
        if no in tolerated:
            got_all = {k: v for k, v in every.get(no, {}).items() if v}
            want_all = {k: v for k, v in all_model.get(no, {}).items() if v}
            if got_all == want_all and all(
                    abs(got.get(k, Decimal(0)) - want.get(k, Decimal(0))) <= Decimal("0.01")
                    for k in set(got) | set(want)):
                continue
        out.append(f"  {no}: bank system={got} model={want}")
    return out


def _fees(world: World, day: date, want: dict[str, Decimal]) -> list[str]:
    """BANK_FIXED_YIELD: the bank's service fee to the platform to date, loan by loan (§3.5 b,
    §8.7), against the system's FEE movements."""
    from django.db.models import Sum

    from lending.models import Movement
    got = dict(Movement.objects.filter(business_date__lte=day, event="FEE",
                                       loan__loan_no__in=list(want))
               .values_list("loan__loan_no").annotate(a=Sum("amount")))
    return [f"{day} {no} fee system={got.get(no, Decimal(0))} model={w}"
            for no, w in sorted(want.items()) if got.get(no, Decimal(0)) != w]


def _losses(world: World, day: date, want: dict[str, dict]) -> list[str]:
    """Written-off loans: each funder's written-off principal, interest and penalty (with
    compound) and its recoveries to date (§3.6, §7.10), against the system's movements."""
    from django.db.models import Sum

    from lending.models import Movement
    got: dict[str, dict] = {}
    for r in (Movement.objects.filter(business_date__lte=day, loan__loan_no__in=list(want),
                                      event__in=("WRITE_OFF", "WO_RECOVERY"))
              .values("loan__loan_no", "funder__code", "event", "component")
              .annotate(a=Sum("amount"))):
        comp = "PENALTY" if r["component"] == "COMPOUND" else r["component"]
        key = (r["funder__code"], r["event"], comp)
        g = got.setdefault(r["loan__loan_no"], {})
        g[key] = g.get(key, Decimal(0)) + r["a"]
    out = []
    for no, w in sorted(want.items()):
        g = {k: v for k, v in got.get(no, {}).items() if v}
        if g != w:
            out.append(f"{day} {no} write-off system={g} model={w}")
    return out


def _claims(world: World, day: date, want: dict[str, tuple]) -> list[str]:
    """Every claim (§3.6) of the world's loans: raised on the day the model raises it, for the
    model's amount, PAID when the guarantor has paid."""
    from lending.models import Claim
    got = {c.loan.loan_no: (c.status, c.raised_on, c.amount)
           for c in Claim.objects.filter(loan__partner__code=world.code).select_related("loan")}
    return [f"{day} {no} claim system={got.get(no)} model={want.get(no)}"
            for no in sorted(set(got) | set(want)) if got.get(no) != want.get(no)]


def _suspense_by_loan(code: str, day: date) -> list[str]:
    """For a statement difference: the system's movements of `day` that are not collections
    (refunds, advances, claims), by loan."""
    from django.db.models import Sum

    from lending.models import Movement
    return [f"  {r['loan__loan_no']}: system {r['event']} {r['component']} {r['a']}"
            for r in (Movement.objects.filter(business_date=day, loan__partner__code=code)
                      .exclude(event__in=("COLLECT", "ACCRUE"))
                      .values("loan__loan_no", "event", "component").annotate(a=Sum("amount"))
                      .order_by("loan__loan_no"))]


def _drop_empty(got: dict, want: dict) -> dict:
    """The system's shares without an empty one the model does not have: the guarantor's share
    row stays, emptied, when its claim payment is reversed (the model never had it)."""
    return {fc: v for fc, v in got.items() if fc in want or any(v)}


def _loan_diffs(world: World, no: str, day: date, loan, stt, pos) -> list[str]:
    """One loan's shares, derived positions, state and DPD, system against model."""
    m, diffs = world.models[no], []
    # Stored balances: principal and interest. Penalty and compound are compared in the
    # positions (stored + accrued, what the books carry): the engine stores the day's
    # penalty at the end of each day it processes the loan (the day's derived position,
    # §8.6), the model at billing and payments, so only where it is kept differs.
    shares = {s.funder.code: (s.principal_outstanding, s.interest_outstanding, 0)
              for s in loan.shares.select_related("funder")}
    want = {fc: (v["PRINCIPAL"], v["INTEREST"], 0) for fc, v in stt.shares.items()}
    tol = no in world.split_tolerant
    if not same(_drop_empty(shares, want), want, tol):
        diffs.append(f"{day} {no} shares system={shares} model={want}")
    wpos = m.positions(stt)
    got = _drop_empty(pos.get(no, {fc: (0, 0, 0) for fc in wpos}), wpos)
    if not same(got, wpos, tol, position_cols(m)):
        diffs.append(f"{day} {no} positions system={got} model={wpos}")
    if (loan.state, loan.dpd) != (stt.state, stt.dpd):
        diffs.append(f"{day} {no} state/dpd system={(loan.state, loan.dpd)} "
                     f"model={(stt.state, stt.dpd)}")
    return diffs
