"""Read-only admin of rows the settlement run writes."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Rows written by the settlement run: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
