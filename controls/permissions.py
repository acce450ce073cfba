"""What each admin action needs: `@admin.action(permissions=[...])` asks the ModelAdmin's
`has_<name>_permission(request)`; these mixin methods answer from the roles' permissions
(controls.roles). The permission matrix test requires every action to name one."""

from __future__ import annotations


def _has(request, codename: str) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm(f"controls.{codename}"))


class ControlPermissions:
    def has_approve_permission(self, request) -> bool:
        return _has(request, "approve_request")

    def has_request_permission(self, request) -> bool:
        return _has(request, "request_change")

    def has_operate_permission(self, request) -> bool:
        return _has(request, "operate_runs")

    def has_resolve_quarantine_permission(self, request) -> bool:
        return _has(request, "resolve_quarantine")

    def has_work_breaks_permission(self, request) -> bool:
        return _has(request, "work_breaks")

    def has_export_audit_permission(self, request) -> bool:
        return _has(request, "export_audit")
