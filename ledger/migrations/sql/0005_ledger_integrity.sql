-- Ledger integrity, enforced by PostgreSQL so that raw SQL and COPY cannot get round it.
-- Loaded by migration 0002. See the docstring of ledger/models.py for the rules.
-- Errors use SQLSTATE class 23 (integrity) so that Django raises IntegrityError.

-- 1. Entries: stamp the creating transaction; refuse a date in or before a closed period.
--    The closed-period test and the close itself take one lock per book (a transaction-level
--    advisory lock: shared here, exclusive in ledger.services.period_close), so a close waits
--    for every open transaction that inserted an entry into the book, and an insert that comes
--    during a close waits for it and then sees the period closed.
CREATE OR REPLACE FUNCTION ledger_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_through date;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('ledger.period:' || NEW.book_id, 0));
    -- pg_current_xact_id() is the top-level transaction even inside a savepoint.
    NEW.created_txid := pg_current_xact_id()::text::bigint;
    SELECT max(p.start_date) INTO closed_through
      FROM ledger_period p
     WHERE p.book_id = NEW.book_id AND p.status = 'CLOSED';
    IF closed_through IS NOT NULL
       AND NEW.business_date < (closed_through + interval '1 month')::date THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('ledger: entry %L dated %s falls in a closed period '
                             '(book %s is closed through %s)',
                             NEW.idempotency_key, NEW.business_date, NEW.book_id,
                             to_char(closed_through, 'YYYY-MM'));
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS ledger_entry_before_insert ON ledger_journalentry;
CREATE TRIGGER ledger_entry_before_insert
    BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_before_insert();

-- 2. Every entry has lines and balances per currency: checked once per entry, at commit
--    (or earlier, when the posting service runs SET CONSTRAINTS ledger_entry_balanced
--    IMMEDIATE). One indexed aggregate per entry: linear in the number of lines.
CREATE OR REPLACE FUNCTION ledger_entry_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT l.currency, sum(l.debit) AS debits, sum(l.credit) AS credits INTO bad
      FROM ledger_journalline l
     WHERE l.entry_id = NEW.id
     GROUP BY l.currency
    HAVING sum(l.debit) <> sum(l.credit)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('ledger: entry %s (%L) does not balance in %s: debits %s, credits %s',
                             NEW.id, NEW.idempotency_key, bad.currency, bad.debits, bad.credits);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ledger_journalline l WHERE l.entry_id = NEW.id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('ledger: entry %s (%L) has no lines', NEW.id, NEW.idempotency_key);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journalentry;
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_balanced();

-- 3. Lines, once per INSERT/COPY statement over the rows it added (transition table), in one
--    aggregate pass: every (entry, currency) of the statement balances, so an entry balances
--    however many statements add to it; the entry and the account exist (lines have no per-row
--    FOREIGN KEY triggers: too slow for batch posting); the account is in the entry's book and
--    has the line's currency; the entry was created by the current top-level transaction, so
--    nothing can be added to an entry committed earlier.
CREATE OR REPLACE FUNCTION ledger_lines_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    current_txid bigint := pg_current_xact_id()::text::bigint;
BEGIN
    WITH agg AS (
        SELECT entry_id, account_id, currency, sum(debit) AS debits, sum(credit) AS credits
          FROM new_lines
         GROUP BY entry_id, account_id, currency
    ), checked AS (
        SELECT g.entry_id, g.account_id, g.currency,
               e.id AS e_id, e.idempotency_key, e.created_txid, e.book_id AS entry_book,
               a.id AS a_id, a.code, a.book_id AS account_book, a.currency AS account_currency
          FROM agg g
          LEFT JOIN ledger_journalentry e ON e.id = g.entry_id
          LEFT JOIN ledger_account a ON a.id = g.account_id
    )
    SELECT * INTO bad FROM checked
     WHERE e_id IS NULL OR a_id IS NULL OR created_txid IS DISTINCT FROM current_txid
        OR account_book <> entry_book OR account_currency <> currency
     ORDER BY (e_id IS NULL) DESC, (created_txid IS DISTINCT FROM current_txid) DESC
     LIMIT 1;
    IF FOUND THEN
        IF bad.e_id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                MESSAGE = format('ledger: line refers to journal entry %s, which does not exist',
                                 bad.entry_id);
        ELSIF bad.created_txid IS DISTINCT FROM current_txid THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = format('ledger: entry %s (%L) was posted by an earlier transaction; '
                                 'lines cannot be added to it', bad.entry_id, bad.idempotency_key);
        ELSIF bad.a_id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                MESSAGE = format('ledger: entry %s: account %s does not exist',
                                 bad.entry_id, bad.account_id);
        ELSIF bad.account_book <> bad.entry_book THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = format('ledger: entry %s: account %s belongs to another book',
                                 bad.entry_id, bad.code);
        ELSE
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = format('ledger: entry %s: line currency %s is not account %s''s '
                                 'currency %s', bad.entry_id, bad.currency, bad.code,
                                 bad.account_currency);
        END IF;
    END IF;

    SELECT entry_id, currency, sum(debit) AS debits, sum(credit) AS credits INTO bad
      FROM new_lines
     GROUP BY entry_id, currency
    HAVING sum(debit) <> sum(credit)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('ledger: entry %s does not balance in %s: debits %s, credits %s',
                             bad.entry_id, bad.currency, bad.debits, bad.credits);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS ledger_lines_after_insert ON ledger_journalline;
CREATE TRIGGER ledger_lines_after_insert
    AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_after_insert();

-- An account that has lines cannot be deleted (lines have no FOREIGN KEY to protect it).
CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM ledger_journalline)
           AND coalesce(current_setting('ledger.allow_truncate', true), '') <> 'on' THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = 'ledger: TRUNCATE of ledger_account refused: lines refer to accounts';
        END IF;
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_journalline l WHERE l.account_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = format('ledger: account %s has lines and cannot be deleted', OLD.code);
    END IF;
    RETURN OLD;
END $$;

DROP TRIGGER IF EXISTS ledger_account_no_delete ON ledger_account;
CREATE TRIGGER ledger_account_no_delete
    BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();
DROP TRIGGER IF EXISTS ledger_account_no_truncate ON ledger_account;
CREATE TRIGGER ledger_account_no_truncate
    BEFORE TRUNCATE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_account_guard();

-- 4. Append-only: posted entries and lines are never updated or deleted.
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'restrict_violation',
        MESSAGE = format('ledger: %s is append-only; %s refused (post a reversing entry)',
                         TG_TABLE_NAME, TG_OP);
END $$;

DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_journalline_append_only ON ledger_journalline;
CREATE TRIGGER ledger_journalline_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- TRUNCATE loses nothing on an empty table; otherwise it needs the deliberate, transaction-
-- local switch SET LOCAL ledger.allow_truncate = 'on' (test teardown, scratch databases).
-- For periods only CLOSED rows count: truncating open periods loses nothing either.
CREATE OR REPLACE FUNCTION ledger_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    has_rows boolean;
BEGIN
    IF coalesce(current_setting('ledger.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'ledger_period' THEN
        SELECT EXISTS (SELECT 1 FROM ledger_period WHERE status = 'CLOSED') INTO has_rows;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_TABLE_NAME) INTO has_rows;
    END IF;
    IF has_rows THEN
        RAISE EXCEPTION USING
            ERRCODE = 'restrict_violation',
            MESSAGE = format('ledger: TRUNCATE of %s refused: the ledger is append-only',
                             TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS ledger_journalentry_no_truncate ON ledger_journalentry;
CREATE TRIGGER ledger_journalentry_no_truncate
    BEFORE TRUNCATE ON ledger_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
DROP TRIGGER IF EXISTS ledger_journalline_no_truncate ON ledger_journalline;
CREATE TRIGGER ledger_journalline_no_truncate
    BEFORE TRUNCATE ON ledger_journalline
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
DROP TRIGGER IF EXISTS ledger_period_no_truncate ON ledger_period;
CREATE TRIGGER ledger_period_no_truncate
    BEFORE TRUNCATE ON ledger_period
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();

-- 5. A closed period stays closed: it cannot be reopened, changed or deleted.
CREATE OR REPLACE FUNCTION ledger_period_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'CLOSED' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'restrict_violation',
            MESSAGE = format('ledger: period %s of book %s is closed; %s refused',
                             to_char(OLD.start_date, 'YYYY-MM'), OLD.book_id, TG_OP);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS ledger_period_guard ON ledger_period;
CREATE TRIGGER ledger_period_guard
    BEFORE UPDATE OR DELETE ON ledger_period
    FOR EACH ROW EXECUTE FUNCTION ledger_period_guard();
