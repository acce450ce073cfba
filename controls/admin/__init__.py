"""Admin of the controls: four-eyes change requests, the audit trail (browse, CSV export), the
limits, and other apps' admins registered again with their four-eyes actions.

`common` comes first: lending.admin imports `reason_page` and `RefuseUnavailableActions` from
here, and `lending` below imports lending.admin.
"""

# isort: off
from controls.admin.common import (
    RefuseUnavailableActions,
    audit_viewer,
    finance_request,
    reason_page,
)
from controls.admin import change_requests, limits, partners, schedule  # noqa: F401
from controls.admin.audit import AuditEventsAdmin
from controls.admin.lending import ProgramCostCapForm, program_admin_with_cost_cap
# isort: on

__all__ = ["AuditEventsAdmin", "ProgramCostCapForm", "RefuseUnavailableActions", "audit_viewer",
           "finance_request", "program_admin_with_cost_cap", "reason_page"]
