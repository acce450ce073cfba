-- Row checks of partner files run set-based; PostgreSQL 15 has no pg_input_is_valid, so a
-- date is parsed by this function, called once per DISTINCT date text of a file (a handful),
-- never once per row. YYYY-MM-DD or YYYYMMDD; NULL when not a real calendar date.
CREATE OR REPLACE FUNCTION lending_intake_date(txt text) RETURNS date AS $$
BEGIN
    IF txt IS NULL OR txt !~ '^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8})$' THEN
        RETURN NULL;
    END IF;
    RETURN replace(txt, '-', '')::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$ LANGUAGE plpgsql IMMUTABLE;
