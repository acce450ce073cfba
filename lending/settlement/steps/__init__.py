"""The per-loan steps of a run (DESIGN §6, 2–5) as idempotent chunks, set-based end to end.

A chunk: extract (one query per table for the chunk's loans) → compute (`engine.loan_day`,
pure) → load (COPY into temp tables) → apply (`UPDATE … FROM`, `INSERT … SELECT`) → aging
(one UPDATE over the chunk's id range) → mark the chunk done, all in one transaction.
No per-loan ORM call anywhere.

`plan`: the chunk plans; `book`: step 2; `apply` and `write_back`: steps 3-5; `leftovers`:
what no chunk reached; `common`: what they share (the domain's rules rendered into SQL).
"""

from lending.settlement.steps.apply import apply_chunk
from lending.settlement.steps.book import book_chunk, disburse_movements
from lending.settlement.steps.common import accruing_sql, dpd_sql, risk_class_sql, status_sql
from lending.settlement.steps.leftovers import quarantine_leftovers
from lending.settlement.steps.plan import plan_apply, plan_book

__all__ = ["accruing_sql", "apply_chunk", "book_chunk", "disburse_movements", "dpd_sql",
           "plan_apply", "plan_book", "quarantine_leftovers", "risk_class_sql", "status_sql"]
