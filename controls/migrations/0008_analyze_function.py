"""ANALYZE for the application role (issue 21): it owns no table, so its own `ANALYZE t` is
skipped with a WARNING ("only table or database owner can analyze it") and the planner keeps
stale statistics of the day's staging tables. `controls_analyze(tables)` runs as its owner
(SECURITY DEFINER, the migrating owner role) and analyses only the tables named here;
controls.db_roles grants EXECUTE to the application role, and `controls.db_roles.analyze` is
the call."""

from django.db import migrations

# The permanent tables the run refreshes statistics of (a temporary table is the session's own:
# its ANALYZE needs no function). A new one is a new migration replacing the function.
WHITELIST = ("lending_stagedloan", "lending_stagedrepayment", "lending_stagedreversal",
             "lending_runevent")

CREATE = """
CREATE OR REPLACE FUNCTION controls_analyze(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF t IS NULL OR NOT (t = ANY (ARRAY[{whitelist}]::text[])) THEN
            RAISE EXCEPTION 'controls_analyze: % is not a table the application may analyse', t
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('ANALYZE public.%I', t);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION controls_analyze(text[]) FROM PUBLIC;
""".replace("{whitelist}", ", ".join(f"'{t}'" for t in WHITELIST))

DROP = "DROP FUNCTION IF EXISTS controls_analyze(text[]);"


class Migration(migrations.Migration):

    dependencies = [
        ("controls", "0007_limits"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
