"""Who did it: every staff request's database writes carry its user in the audit trail."""

from __future__ import annotations

from pghistory.middleware import HistoryMiddleware


class AuditContextMiddleware(HistoryMiddleware):
    """pghistory's context (user id, url) plus the username, so an export reads on its own."""

    def get_context(self, request):
        context = super().get_context(request)
        user = getattr(request, "user", None)
        context["username"] = user.get_username() if getattr(user, "pk", None) else None
        return context
