-- Agreement integrity, enforced by PostgreSQL so that raw SQL cannot get round it.

-- 1. The principal ratios of an agreement version sum to exactly 1. Checked once per version
--    at commit (deferred), so a version's funders can be inserted in any order in one transaction.
CREATE OR REPLACE FUNCTION lending_check_version_ratios() RETURNS trigger AS $$
DECLARE
    v_id bigint;
    total numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN v_id := OLD.version_id; ELSE v_id := NEW.version_id; END IF;
    IF NOT EXISTS (SELECT 1 FROM lending_agreementversion WHERE id = v_id) THEN
        RETURN NULL;  -- the version itself was deleted in this transaction
    END IF;
    SELECT COALESCE(SUM(principal_ratio), 0) INTO total
      FROM lending_agreementfunder WHERE version_id = v_id;
    IF total <> 1 THEN
        RAISE EXCEPTION 'agreement version % funder principal ratios sum to %, not 1', v_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS agreement_funder_ratios_sum_to_one ON lending_agreementfunder;
CREATE CONSTRAINT TRIGGER agreement_funder_ratios_sum_to_one
    AFTER INSERT OR UPDATE OR DELETE ON lending_agreementfunder
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION lending_check_version_ratios();

-- 2. An ACTIVE (or RETIRED) version is never edited: only ACTIVE -> RETIRED with an end date.
CREATE OR REPLACE FUNCTION lending_freeze_active_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('ACTIVE', 'RETIRED') THEN
            RAISE EXCEPTION 'agreement version % is % and cannot be deleted', OLD.id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN ('ACTIVE', 'RETIRED') THEN
        IF (NEW.agreement_id, NEW.version, NEW.effective_from, NEW.interest_split_rule,
            NEW.penalty_split_rule, NEW.service_fee_rate, NEW.loss_sharing_rule,
            NEW.first_loss_cap_ratio, NEW.guarantee_covers_bank_share, NEW.residual_owner_id,
            NEW.created_by_id, NEW.approved_by_id, NEW.approved_at)
           IS DISTINCT FROM
           (OLD.agreement_id, OLD.version, OLD.effective_from, OLD.interest_split_rule,
            OLD.penalty_split_rule, OLD.service_fee_rate, OLD.loss_sharing_rule,
            OLD.first_loss_cap_ratio, OLD.guarantee_covers_bank_share, OLD.residual_owner_id,
            OLD.created_by_id, OLD.approved_by_id, OLD.approved_at)
           OR (OLD.status = 'RETIRED' AND NEW IS DISTINCT FROM OLD)
           OR (NEW.status NOT IN ('ACTIVE', 'RETIRED')) THEN
            RAISE EXCEPTION 'agreement version % is % and its terms cannot change', OLD.id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS agreement_version_frozen ON lending_agreementversion;
CREATE TRIGGER agreement_version_frozen
    BEFORE UPDATE OR DELETE ON lending_agreementversion
    FOR EACH ROW EXECUTE FUNCTION lending_freeze_active_version();

CREATE OR REPLACE FUNCTION lending_freeze_active_funders() RETURNS trigger AS $$
DECLARE
    v_status text;
    v_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN v_id := NEW.version_id; ELSE v_id := OLD.version_id; END IF;
    SELECT status INTO v_status FROM lending_agreementversion WHERE id = v_id;
    IF v_status IN ('ACTIVE', 'RETIRED') THEN
        RAISE EXCEPTION 'agreement version % is %: its funders cannot change', v_id, v_status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS agreement_funders_frozen ON lending_agreementfunder;
CREATE TRIGGER agreement_funders_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON lending_agreementfunder
    FOR EACH ROW EXECUTE FUNCTION lending_freeze_active_funders();
