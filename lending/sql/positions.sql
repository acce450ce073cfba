-- Every loan share's position as of a business date: the stored balances plus what has accrued
-- since the engine last crystallised (DESIGN §6: derived values). One definition of the
-- arithmetic (lending_loan_accruals), three views of it:
--   lending_loan_accruals     per loan: what accrued since the anchors (acc, pen, cmp)
--   lending_share_positions   per loan share: the loan snapshot export, selectors, tests
--   lending_position_totals   Σ per (funder, program, accrual flag): the accrual posting and the
--                             sub-ledger = GL check, in one pass without a per-loan window
--
-- Loan level:  acc = HALF_UP(accrual_amount × elapsed / period)        interest not yet billed
--               (to 8 places first: lending.domain.money.accrued_part says why)
--              pen = HALF_UP((penalty_carry + penalty_base × days) × rate × multiplier / year) 罚息
--              cmp = HALF_UP((compound_carry + compound_base × days) × rate × multiplier / year) 复利
--               (carry: amount × days on earlier bases since the last rounding point, §8.6)
-- Funder level: non-residual funders HALF_UP(x × weight), the residual owner the rest, so the
-- parts sum to the loan amount exactly (the same rule as lending.settlement.weights).
-- PostgreSQL's round(numeric, 2) rounds half away from zero: HALF_UP for these amounts.
-- lending_year_days and lending_loan_closed are rendered from lending.domain (migration 0022);
-- tests/unit/settlement/test_differential_sql.py runs these functions against the domain.
CREATE OR REPLACE FUNCTION lending_loan_accruals(
    p_date date, p_partner bigint DEFAULT NULL, p_lo bigint DEFAULT NULL,
    p_hi bigint DEFAULT NULL)
RETURNS TABLE (
    id bigint, program_id bigint, partner_id bigint, agreement_version_id bigint,
    loan_no varchar, booked_on date, dpd integer, accruing boolean, state varchar,
    principal_outstanding numeric, interest_outstanding numeric, penalty_outstanding numeric,
    compound_outstanding numeric, acc numeric, pen numeric, cmp numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT l.id, l.program_id, l.partner_id, l.agreement_version_id, l.loan_no, l.booked_on,
           l.dpd, l.accruing, l.state, l.principal_outstanding, l.interest_outstanding,
           l.penalty_outstanding, l.compound_outstanding,
           CASE WHEN lending_loan_closed(l.state) OR l.accrual_from IS NULL
                     OR l.accrual_to <= l.accrual_from THEN 0
                ELSE round(round(l.accrual_amount
                                 * LEAST(GREATEST(p_date - l.accrual_from, 0),
                                         l.accrual_to - l.accrual_from)
                                 / (l.accrual_to - l.accrual_from), 8), 2) END AS acc,
           CASE WHEN lending_loan_closed(l.state) OR l.penalty_from IS NULL THEN 0
                ELSE round((l.penalty_carry + l.penalty_base
                            * GREATEST(p_date - l.penalty_from, 0))
                           * l.annual_rate * g.penalty_multiplier
                           / lending_year_days(g.day_count), 2)
           END AS pen,
           CASE WHEN lending_loan_closed(l.state) OR l.penalty_from IS NULL THEN 0
                ELSE round((l.compound_carry + l.compound_base
                            * GREATEST(p_date - l.penalty_from, 0))
                           * l.annual_rate * g.penalty_multiplier
                           / lending_year_days(g.day_count), 2)
           END AS cmp
      FROM lending_loan l
      JOIN lending_program g ON g.id = l.program_id
     WHERE (p_partner IS NULL OR l.partner_id = p_partner)
       AND (p_lo IS NULL OR l.id >= p_lo)
       AND (p_hi IS NULL OR l.id <= p_hi)
$$;

CREATE OR REPLACE FUNCTION lending_share_positions(
    p_date date, p_partner bigint DEFAULT NULL, p_lo bigint DEFAULT NULL,
    p_hi bigint DEFAULT NULL)
RETURNS TABLE (
    loan_id bigint, program_id bigint, partner_id bigint, funder_id bigint, accruing boolean,
    loan_state varchar, principal numeric, interest numeric, penalty numeric, compound numeric,
    accrued numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH parts AS (
        SELECT s.loan_id, l.program_id, l.partner_id, s.funder_id, l.accruing, l.state,
               s.principal_outstanding, s.interest_outstanding, s.penalty_outstanding,
               s.compound_outstanding, s.is_residual, l.acc, l.pen, l.cmp,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.acc * s.accrual_weight, 2) END AS a,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.pen * s.penalty_weight, 2) END AS p,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.cmp * s.penalty_weight, 2) END AS c
          FROM lending_loanshare s
          JOIN lending_loan_accruals(p_date, p_partner, p_lo, p_hi) l ON l.id = s.loan_id
    ), whole AS (
        SELECT parts.*,
               SUM(a) OVER w AS sa, SUM(p) OVER w AS sp, SUM(c) OVER w AS sc
          FROM parts
        WINDOW w AS (PARTITION BY parts.loan_id)
    )
    SELECT loan_id, program_id, partner_id, funder_id, accruing, state,
           principal_outstanding,
           interest_outstanding + CASE WHEN is_residual THEN acc - sa ELSE a END,
           penalty_outstanding + CASE WHEN is_residual THEN pen - sp ELSE p END,
           compound_outstanding + CASE WHEN is_residual THEN cmp - sc ELSE c END,
           CASE WHEN is_residual THEN acc - sa ELSE a END
      FROM whole
$$;

-- Σ of lending_share_positions per (funder, program, accrual flag), without the per-loan
-- window: each share contributes its stored balances and, when not residual, its HALF_UP part
-- of what accrued; the loan's residual share contributes the whole accrued amount, and every
-- non-residual part is taken off its loan's residual funder again. One pass over the shares
-- sums per (funder, residual funder, program, flag, residual?) — a few dozen groups — and the
-- outer query moves the non-residual parts to the residual funders. The residual share of a
-- loan is its agreement version's residual owner (lending.services.loans_book);
-- tests/golden/test_golden_position_totals.py and the simulation checks these totals against
-- Σ lending_share_positions.
CREATE OR REPLACE FUNCTION lending_position_totals(p_date date, p_partner bigint)
RETURNS TABLE (
    funder_id bigint, program_id bigint, accruing boolean, principal numeric,
    interest numeric, penalty numeric, compound numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH g AS (
        SELECT s.funder_id, v.residual_owner_id AS residual_id, l.program_id, l.accruing,
               s.is_residual,
               sum(s.principal_outstanding) AS bp, sum(s.interest_outstanding) AS bi,
               sum(s.penalty_outstanding) AS bn, sum(s.compound_outstanding) AS bc,
               sum(CASE WHEN s.is_residual THEN l.acc
                        ELSE round(l.acc * s.accrual_weight, 2) END) AS a,
               sum(CASE WHEN s.is_residual THEN l.pen
                        ELSE round(l.pen * s.penalty_weight, 2) END) AS p,
               sum(CASE WHEN s.is_residual THEN l.cmp
                        ELSE round(l.cmp * s.penalty_weight, 2) END) AS c
          FROM lending_loanshare s
          JOIN lending_loan_accruals(p_date, p_partner) l ON l.id = s.loan_id
          JOIN lending_agreementversion v ON v.id = l.agreement_version_id
         GROUP BY 1, 2, 3, 4, 5
    )
    SELECT x.funder_id, g.program_id, g.accruing, sum(x.principal), sum(x.interest),
           sum(x.penalty), sum(x.compound)
      FROM g
     CROSS JOIN LATERAL (VALUES
        (g.funder_id, g.bp, g.bi + g.a, g.bn + g.p, g.bc + g.c),
        (g.residual_id, 0,
         CASE WHEN g.is_residual THEN 0 ELSE -g.a END,
         CASE WHEN g.is_residual THEN 0 ELSE -g.p END,
         CASE WHEN g.is_residual THEN 0 ELSE -g.c END)
     ) AS x(funder_id, principal, interest, penalty, compound)
     GROUP BY 1, 2, 3
$$;
