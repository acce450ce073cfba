"""Set-based row checks of a partner file, one SQL statement per step.

The raw rows sit in the temporary table `intake_raw` (every column text, NULL when empty). Per
row, the FIRST failing check is one text `CODE<US>column<US>message` (NULL when the row is good):
one `CASE`, which stops at the first true WHEN. Only the failing rows are written
(`intake_err`); the good rows go straight from `intake_raw` into the kind's staging table.

Fast path: while streaming the file, Python matches each line against one compiled regex built
from the columns' formats (`Checks.line_regex`). A match proves every format check of the row
(MISSING_FIELD and BAD_* that look at the value alone), so the row is marked `ok` and its CASE
evaluates only the checks that need a join or a comparison (real calendar date, FUTURE_DATE,
references, duplicates, limits, > 0). Every other row gets the full CASE, exactly as before.
A check is marked `fmt=True` only where its column's fast pattern implies it is false.

Columns, regexes and codes are constants of the contract, composed with `psycopg.sql`; values
(partner, business date, file) are always parameters.

`dsl`: the checks' language (`Checks`, the fast patterns, the error text). `kinds`: the checks
of each kind of file, and the helper tables of repeated and earlier keys. `staging`: the check
pass, the staging insert and the quarantine of the failing rows.
"""
