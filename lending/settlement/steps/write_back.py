"""A chunk's loans, shares and instalments loaded by COPY into temp tables and applied with
`UPDATE … FROM`; its movements and claims; its staged rows marked applied or quarantined."""

from __future__ import annotations

from decimal import Decimal

from config.sql_literals import lit
from lending.copyio import copy_rows
from lending.domain.loan_day import LoanState
from lending.domain.loan_state import LoanStatus
from lending.intake.models import StagedRowStatus
from lending.settlement.models import ClaimStatus, SettlementRun
from lending.settlement.steps.common import (
    _exec,
    _quarantine,
)

_T_LOAN = ("id", "state", "accruing", "overpaid_amount", "accrual_from", "accrual_to",
           "accrual_amount", "billed_seq", "penalty_from", "penalty_base", "compound_base",
           "oldest_unpaid_due_on", "next_penalty_on", "claim_raised_on", "claimed_on",
           "written_off_on", "closed_on", "dpd", "principal_outstanding", "interest_outstanding",
           "penalty_outstanding", "compound_outstanding", "penalty_carry", "compound_carry",
           "round_txn_id", "round_penalty_days", "round_compound_days", "penalty_rounded_on",
           "period_fee")
_T_SHARE = ("loan_id", "funder_id", "principal_outstanding", "interest_outstanding",
            "penalty_outstanding", "compound_outstanding", "accrual_weight", "penalty_weight",
            "funded_principal", "claimed_amount", "written_off_amount", "recovered_amount",
            "is_new")
_T_INST = ("loan_id", "seq", "principal_due", "interest_due", "principal_paid", "interest_paid",
           "status", "paid_on", "penalty_unpaid", "compound_unpaid", "penalty_paid",
           "compound_paid")


# A claim is PAID once the guarantor has paid all of it or bought the bank's share (the loan
# CLAIMED: the borrower may have paid the bank part of it first, DOMAIN §7.1); part-paid it
# stays RAISED, its paid_amount saying how much.
_SHARE_BOUGHT = (f"(SELECT l.state FROM lending_loan l WHERE l.id = lending_claim.loan_id)"
                 f" = {lit(LoanStatus.CLAIMED)}")


def _create_temp_tables() -> None:
    _exec("""
        CREATE TEMP TABLE IF NOT EXISTS t_loan (
            id bigint, state varchar(12), accruing boolean, overpaid_amount numeric,
            accrual_from date, accrual_to date, accrual_amount numeric, billed_seq int,
            penalty_from date, penalty_base numeric, compound_base numeric,
            oldest_unpaid_due_on date, next_penalty_on date, claim_raised_on date,
            claimed_on date, written_off_on date, closed_on date, dpd int,
            principal_outstanding numeric, interest_outstanding numeric,
            penalty_outstanding numeric, compound_outstanding numeric,
            penalty_carry numeric, compound_carry numeric, round_txn_id bigint,
            round_penalty_days numeric, round_compound_days numeric, penalty_rounded_on date,
            period_fee numeric)
            ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS t_share (
            loan_id bigint, funder_id bigint, principal_outstanding numeric,
            interest_outstanding numeric, penalty_outstanding numeric,
            compound_outstanding numeric, accrual_weight numeric, penalty_weight numeric,
            funded_principal numeric, claimed_amount numeric, written_off_amount numeric,
            recovered_amount numeric, is_new boolean) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS t_inst (
            loan_id bigint, seq int, principal_due numeric, interest_due numeric,
            principal_paid numeric, interest_paid numeric, status varchar(8), paid_on date,
            penalty_unpaid numeric, compound_unpaid numeric, penalty_paid numeric,
            compound_paid numeric) ON COMMIT DROP;
        -- Inside an enclosing transaction (tests, eager mode) the tables outlive a chunk.
        TRUNCATE t_loan, t_share, t_inst;
    """)


def _write_back(run: SettlementRun, loans: dict[int, LoanState], movements: list[tuple],
                raised: list[tuple], paid_claims: list[tuple]) -> None:
    _create_temp_tables()
    zero = Decimal("0.00")

    def loan_rows():
        for ln in loans.values():
            sh = ln.shares.values()
            yield (ln.id, ln.state, ln.accruing, ln.overpaid, ln.accrual_from, ln.accrual_to,
                   ln.accrual_amount, ln.billed_seq, ln.penalty_from, ln.penalty_base,
                   ln.compound_base, ln.oldest_unpaid_due_on, ln.next_penalty_on,
                   ln.claim_raised_on, ln.claimed_on, ln.written_off_on, ln.closed_on, ln.dpd,
                   sum((s.principal for s in sh), zero), sum((s.interest for s in sh), zero),
                   sum((s.penalty for s in sh), zero), sum((s.compound for s in sh), zero),
                   ln.penalty_carry, ln.compound_carry, ln.round_txn, ln.round_penalty_days,
                   ln.round_compound_days, ln.penalty_rounded_on, ln.period_fee)

    copy_rows("t_loan", _T_LOAN, loan_rows())
    copy_rows("t_share", _T_SHARE, (
        (ln.id, s.funder_id, s.principal, s.interest, s.penalty, s.compound, s.accrual_weight,
         s.penalty_weight, s.funded, s.claimed, s.written_off, s.recovered, s.new)
        for ln in loans.values() for s in ln.shares.values()))
    copy_rows("t_inst", _T_INST, (
        (ln.id, i.seq, i.principal_due, i.interest_due, i.principal_paid, i.interest_paid,
         i.status, i.paid_on, i.penalty_unpaid, i.compound_unpaid, i.penalty_paid,
         i.compound_paid)
        for ln in loans.values() for i in ln.insts if i.dirty))
    sets = ", ".join(f"{c} = t.{c}" for c in _T_LOAN[1:])
    _exec(f"UPDATE lending_loan l SET {sets} FROM t_loan t WHERE l.id = t.id")
    share_sets = ", ".join(f"{c} = t.{c}" for c in _T_SHARE[2:-1])
    _exec(f"""UPDATE lending_loanshare s SET {share_sets} FROM t_share t
               WHERE s.loan_id = t.loan_id AND s.funder_id = t.funder_id AND NOT t.is_new""")
    _exec("""INSERT INTO lending_loanshare (loan_id, funder_id, ratio, interest_rate,
                    funded_principal, principal_outstanding, interest_outstanding,
                    penalty_outstanding, compound_outstanding, claimed_amount,
                    written_off_amount, recovered_amount, accrual_weight, penalty_weight,
                    is_residual)
             SELECT loan_id, funder_id, 0, NULL, funded_principal, principal_outstanding,
                    interest_outstanding, penalty_outstanding, compound_outstanding,
                    claimed_amount, written_off_amount, recovered_amount, accrual_weight,
                    penalty_weight, false
               FROM t_share WHERE is_new""")
    inst_sets = ", ".join(f"{c} = t.{c}" for c in _T_INST[2:])
    _exec(f"""UPDATE lending_installment i SET {inst_sets}
               FROM t_inst t WHERE i.loan_id = t.loan_id AND i.seq = t.seq""")
    day, program_of = run.business_date, {ln.id: ln.program_id for ln in loans.values()}
    copy_rows("lending_movement", (
        "business_date", "run_id", "loan_id", "program_id", "funder_id", "event", "component",
        "amount", "installment_seq", "txn_id", "reversal", "accruing"), (
        (day, run.pk, m[0], program_of[m[0]], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
        for m in movements))
    if raised:
        # (raised on an earlier day when a reversal's replay raised it, §8.3; a claim the loan
        # had is then raised again, on its day as replayed, what was paid of it kept)
        cols = list(zip(*((lid, g, loans[lid].claim_raised_on or day, p, i, pen, amt)
                          for lid, g, p, i, pen, amt in raised), strict=True))
        _exec(f"""INSERT INTO lending_claim (loan_id, guarantor_id, raised_on, principal,
                        interest, penalty, amount, status, paid_amount)
                 SELECT x.*, {lit(ClaimStatus.RAISED)}, 0
                   FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::numeric[],
                               %s::numeric[], %s::numeric[], %s::numeric[]) AS x
                 ON CONFLICT (loan_id) DO UPDATE SET raised_on = EXCLUDED.raised_on,
                        principal = EXCLUDED.principal, interest = EXCLUDED.interest,
                        penalty = EXCLUDED.penalty, amount = EXCLUDED.amount,
                        -- restated larger than what was paid of it: open again (part-paid)
                        status = CASE WHEN lending_claim.paid_amount > 0 AND (
                                          lending_claim.paid_amount >= EXCLUDED.amount
                                          OR {_SHARE_BOUGHT})
                                      THEN {lit(ClaimStatus.PAID)} ELSE {lit(ClaimStatus.RAISED)} END""",
              [list(c) for c in cols])
    if paid_claims:  # one statement for the chunk (a loan's day gives at most one entry)
        lids, guarantors, amounts = (list(c) for c in zip(*paid_claims, strict=True))
        _exec(f"""INSERT INTO lending_claim (loan_id, guarantor_id, raised_on, principal,
                        interest, penalty, amount, status, paid_on, paid_amount)
                 SELECT x.loan_id, x.guarantor_id, %(d)s, 0, 0, 0, 0, {lit(ClaimStatus.PAID)}, %(d)s, x.amount
                   FROM unnest(%(l)s::bigint[], %(g)s::bigint[], %(a)s::numeric[])
                        AS x(loan_id, guarantor_id, amount)
                 ON CONFLICT (loan_id) DO UPDATE SET
                        paid_amount = lending_claim.paid_amount + EXCLUDED.paid_amount,
                        -- PAID once paid in full; part-paid it stays RAISED (paid_amount says
                        -- how much)
                        status = CASE WHEN lending_claim.paid_amount + EXCLUDED.paid_amount > 0
                                       AND (lending_claim.paid_amount + EXCLUDED.paid_amount
                                            >= lending_claim.amount OR {_SHARE_BOUGHT})
                                      THEN {lit(ClaimStatus.PAID)} ELSE {lit(ClaimStatus.RAISED)} END,
                        -- the day of the last payment; a reversal keeps it, or clears it
                        -- when nothing stays paid
                        paid_on = CASE
                            WHEN lending_claim.paid_amount + EXCLUDED.paid_amount <= 0 THEN NULL
                            WHEN EXCLUDED.paid_amount > 0 THEN EXCLUDED.paid_on
                            ELSE lending_claim.paid_on END""",
              {"d": day, "l": lids, "g": guarantors, "a": amounts})


def _mark_staged(run: SettlementRun, rows: dict, applied_r: list[int], applied_v: list[int],
                 rejects: list[tuple]) -> None:
    if applied_r:
        _exec(f"UPDATE lending_stagedrepayment SET status = {lit(StagedRowStatus.APPLIED)}, applied_at = now()"
              " WHERE id = ANY(%s)", [applied_r])
    if applied_v:
        _exec(f"UPDATE lending_stagedreversal SET status = {lit(StagedRowStatus.APPLIED)}, applied_at = now()"
              " WHERE id = ANY(%s)", [applied_v])
    if not rejects:
        return
    _quarantine(run.partner_id, run.business_date, [
        (rows[txn][1], rows[txn][2], col, code, msg, rows[txn][3], rows[txn][4])
        for txn, code, col, msg in rejects
    ])
    for kind, table in (("R", "lending_stagedrepayment"), ("V", "lending_stagedreversal")):
        ids = [txn for txn, *_ in rejects if rows[txn][0] == kind]
        if ids:
            _exec(f"UPDATE {table} SET status = {lit(StagedRowStatus.QUARANTINED)}, applied_at = now()"
                  " WHERE id = ANY(%s)", [ids])
