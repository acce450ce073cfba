-- A quarantined row is evidence: it is never deleted, and only its resolution may change
-- (once, from unresolved to resolved with a note).
CREATE OR REPLACE FUNCTION partners_quarantine_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'quarantined row % cannot be deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.file_id, NEW.partner_id, NEW.business_date, NEW.row_no, NEW."column", NEW.reason,
        NEW.message, NEW.raw, NEW.amount, NEW.stage, NEW.created_at)
       IS DISTINCT FROM
       (OLD.file_id, OLD.partner_id, OLD.business_date, OLD.row_no, OLD."column", OLD.reason,
        OLD.message, OLD.raw, OLD.amount, OLD.stage, OLD.created_at)
       OR OLD.resolved THEN
        RAISE EXCEPTION 'quarantined row % cannot be edited, only resolved once', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS quarantine_append_only ON partners_quarantinedrow;
CREATE TRIGGER quarantine_append_only
    BEFORE UPDATE OR DELETE ON partners_quarantinedrow
    FOR EACH ROW EXECUTE FUNCTION partners_quarantine_append_only();
