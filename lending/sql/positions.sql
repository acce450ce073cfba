-- Every loan share's position as of a business date: the stored balances plus what has accrued
-- since the engine last crystallised (DESIGN §6: derived values). One definition, used by the
-- accrual posting, the sub-ledger = GL check, the loan snapshot and reconciliation.
--
-- Loan level:  acc = HALF_UP(accrual_amount × elapsed / period)        interest not yet billed
--              pen = HALF_UP(penalty_base × rate × multiplier × days / year)    罚息
--              cmp = HALF_UP(compound_base × rate × multiplier × days / year)   复利
-- Funder level: non-residual funders HALF_UP(x × weight), the residual owner the rest, so the
-- parts sum to the loan amount exactly (the same rule as lending.settlement.weights).
-- PostgreSQL's round(numeric, 2) rounds half away from zero: HALF_UP for these amounts.
CREATE OR REPLACE FUNCTION lending_share_positions(
    p_date date, p_partner bigint DEFAULT NULL, p_lo bigint DEFAULT NULL,
    p_hi bigint DEFAULT NULL)
RETURNS TABLE (
    loan_id bigint, program_id bigint, partner_id bigint, funder_id bigint, accruing boolean,
    loan_state varchar, principal numeric, interest numeric, penalty numeric, compound numeric,
    accrued numeric)
LANGUAGE sql STABLE AS $$
    WITH l AS (
        SELECT l.id, l.program_id, l.partner_id, l.accruing, l.state,
               CASE WHEN l.state IN ('PAID_OFF', 'WRITTEN_OFF') OR l.accrual_from IS NULL
                         OR l.accrual_to <= l.accrual_from THEN 0
                    ELSE round(l.accrual_amount
                               * LEAST(GREATEST(p_date - l.accrual_from, 0),
                                       l.accrual_to - l.accrual_from)
                               / (l.accrual_to - l.accrual_from), 2) END AS acc,
               CASE WHEN l.state IN ('PAID_OFF', 'WRITTEN_OFF') OR l.penalty_from IS NULL
                         OR p_date <= l.penalty_from THEN 0
                    ELSE round(l.penalty_base * l.annual_rate * g.penalty_multiplier
                               * (p_date - l.penalty_from)
                               / CASE WHEN g.day_count = 'ACT/365' THEN 365 ELSE 360 END, 2)
               END AS pen,
               CASE WHEN l.state IN ('PAID_OFF', 'WRITTEN_OFF') OR l.penalty_from IS NULL
                         OR p_date <= l.penalty_from THEN 0
                    ELSE round(l.compound_base * l.annual_rate * g.penalty_multiplier
                               * (p_date - l.penalty_from)
                               / CASE WHEN g.day_count = 'ACT/365' THEN 365 ELSE 360 END, 2)
               END AS cmp
          FROM lending_loan l
          JOIN lending_program g ON g.id = l.program_id
         WHERE (p_partner IS NULL OR l.partner_id = p_partner)
           AND (p_lo IS NULL OR l.id >= p_lo)
           AND (p_hi IS NULL OR l.id <= p_hi)
    ), parts AS (
        SELECT s.loan_id, l.program_id, l.partner_id, s.funder_id, l.accruing, l.state,
               s.principal_outstanding, s.interest_outstanding, s.penalty_outstanding,
               s.compound_outstanding, s.is_residual, l.acc, l.pen, l.cmp,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.acc * s.accrual_weight, 2) END AS a,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.pen * s.penalty_weight, 2) END AS p,
               CASE WHEN s.is_residual THEN 0 ELSE round(l.cmp * s.penalty_weight, 2) END AS c
          FROM lending_loanshare s
          JOIN l ON l.id = s.loan_id
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
