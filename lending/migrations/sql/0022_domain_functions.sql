-- Rendered from lending.domain by lending.settlement.domain_sql; do not edit by hand.
-- daycount.year_days: the denominator of the year fraction of a day-count basis.
CREATE OR REPLACE FUNCTION lending_year_days(p_day_count varchar) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_day_count WHEN 'ACT/360' THEN 360 WHEN 'ACT/365' THEN 365 WHEN '30/360' THEN 360 END
$$;
-- loan_day.CLOSED_STATES: a loan in these states accrues nothing.
CREATE OR REPLACE FUNCTION lending_loan_closed(p_state varchar) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_state IN ('PAID_OFF', 'WRITTEN_OFF')
$$;
